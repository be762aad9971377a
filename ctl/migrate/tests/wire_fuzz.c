// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: arbitrary bytes from a peer, through the receiver's
 * frame check and PAGES parser, into a small guest memory.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../pages.h"
#include "../wire.h"

#define PAGES	16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Set each data page's descriptor hash to the hash of its data. */
static void fix_hashes(uint8_t *p, size_t len, uint64_t n)
{
	const size_t dsz = sizeof(struct vmotion_page_desc);
	uint8_t *data = p + n * dsz;
	struct vmotion_page_desc d;
	uint64_t i;

	for (i = 0; i < n && (i + 1) * dsz <= len; i++) {
		memcpy(&d, p + i * dsz, dsz);
		if (le64toh(d.pfn) & VMOTION_PAGE_ZERO)
			continue;
		if (data + VMOTION_PAGE_SIZE > p + len)
			return;
		d.hash = htole64(page_hash(data));
		memcpy(p + i * dsz, &d, dsz);
		data += VMOTION_PAGE_SIZE;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t hashes[PAGES];
	static struct page_target t = { .fd = -1, .nr_pages = PAGES,
					.hashes = hashes };
	struct wire_frame f;
	char err[256];
	int sv[2];

	if (size > (1 << 20))
		return 0;
	/* Guest memory in a memfd, installed into as receive does. */
	if (!t.mem) {
		t.fd = memfd_create("fuzz-guest", MFD_CLOEXEC);
		if (t.fd < 0 || ftruncate(t.fd, PAGES * VMOTION_PAGE_SIZE))
			abort();
		t.mem = mmap(NULL, PAGES * VMOTION_PAGE_SIZE,
			     PROT_READ | PROT_WRITE, MAP_SHARED, t.fd, 0);
		if (t.mem == MAP_FAILED)
			abort();
	}
	/*
	 * The checksum stops almost every mutated frame at the door, so feed
	 * the PAGES parser directly too: first byte the descriptor count,
	 * the rest the payload.  With the count's top bit set, the data
	 * pages' hashes are made right first, so that mutations get past
	 * the hash check into the installing code; with the next bit, the
	 * frame says its data is compressed.
	 */
	if (size) {
		static uint8_t buf[1 << 20];
		struct wire_frame p = {
			.command = VMOTION_CMD_PAGES, .arg = data[0] & 0x3f,
			.flags = data[0] & 0x40 ? VMOTION_FRAME_ZSTD : 0,
			.length = size - 1, .payload = buf,
		};

		memcpy(buf, data + 1, size - 1);
		if ((data[0] & 0xc0) == 0x80)
			fix_hashes(buf, size - 1, p.arg);
		pages_apply(&t, &p, err, sizeof(err));
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 0;
	if (write(sv[0], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[0], SHUT_WR);
	while (!wire_recv(sv[1], NULL, &f, err, sizeof(err))) {
		if (f.command == VMOTION_CMD_PAGES)
			pages_apply(&t, &f, err, sizeof(err));
		wire_frame_free(&f);
	}
	close(sv[0]);
	close(sv[1]);
	return 0;
}
