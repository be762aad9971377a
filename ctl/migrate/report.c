// SPDX-License-Identifier: GPL-2.0
/*
 * The migration's report (source.h), `migrate --json FILE`: what happened,
 * the stun predicted and measured, bytes and pages, and one record per
 * pre-copy phase; Documentation/admin-guide/vmotionctl.rst lists the keys.
 * Written with json-c, so that any reason text is escaped right.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "../vmotionctl.h"
#include "source.h"

/* A number printed as @fmt says, not with json-c's 17 digits. */
static struct json_object *num(const char *fmt, double v)
{
	char s[64];

	snprintf(s, sizeof(s), fmt, v);
	return json_object_new_double_s(v, s);
}

static void add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

static struct json_object *phase(const struct iteration *it)
{
	struct json_object *o = json_object_new_object();

	add(o, "phase", json_object_new_int64(it->number));
	add(o, "pages", json_object_new_uint64(it->pages));
	add(o, "bytes", json_object_new_uint64(it->bytes));
	add(o, "seconds", num("%.3f", it->seconds));
	add(o, "dirty_pages_per_s", num("%.0f", it->dirty_pages_per_s));
	add(o, "tx_bytes_per_s", num("%.0f", it->tx_bytes_per_s));
	add(o, "bitmap_bytes", json_object_new_uint64(it->bitmap_bytes));
	add(o, "sdps_us", json_object_new_uint64(it->sdps_us));
	return o;
}

void mig_report_write(struct migration *m, const char *result)
{
	struct json_object *r = json_object_new_object(), *a;
	unsigned int i;
	FILE *f;

	add(r, "result", json_object_new_string(result));
	if (m->reason[0])
		add(r, "reason", json_object_new_string(m->reason));
	add(r, "tracker", json_object_new_string(m->tracker.ops ?
						 m->tracker.ops->name : "none"));
	if (m->tracker.ops == &tracker_vmtrace_ops)
		add(r, "vmtrace_mode", json_object_new_string(
			    m->tracker.vmtrace_mode == VMTRACE_MODE_HIERARCHICAL ?
			    "hierarchical" : "stock"));
	add(r, "total_ms", num("%.1f", m->total_ms));
	add(r, "stun_ms", num("%.1f", m->stun_ms));
	add(r, "predicted_stun_ms", num("%.1f", m->predicted_stun_ms));
	add(r, "max_stun_ms", json_object_new_uint64(m->max_stun_ms));
	add(r, "stun_overrun", json_object_new_boolean(m->committed &&
						       m->stun_ms > m->max_stun_ms));
	add(r, "bytes_sent", json_object_new_uint64(m->st.bytes_sent));
	add(r, "cpu_s_source", num("%.3f", m->src_cpu_s));
	add(r, "cpu_s_destination", num("%.3f", m->dst_cpu_s));
	if (m->mem_size) {
		double gib = (double)m->mem_size / (1 << 30);

		add(r, "cpu_s_per_gib_source", num("%.3f", m->src_cpu_s / gib));
		add(r, "cpu_s_per_gib_destination", num("%.3f", m->dst_cpu_s / gib));
	}
	add(r, "memory_hash_equal",
	    json_object_new_boolean(m->hash_equal && m->committed));
	add(r, "source_memory_verified", json_object_new_boolean(m->hash_checked));
	add(r, "zero_pages", json_object_new_uint64(m->batch.zero_pages));
	add(r, "data_pages", json_object_new_uint64(m->batch.data_pages));
	add(r, "state_bytes", json_object_new_uint64(m->state_bytes));
	add(r, "rtt_ms", num("%.3f", m->rtt_s * 1e3));
	add(r, "switchover_pages", json_object_new_uint64(m->switchover_pages));
	add(r, "switchover_bitmap_bytes",
	    json_object_new_uint64(m->switchover_bitmap_bytes));
	add(r, "compress", json_object_new_string(m->compress));
	add(r, "compress_raw_bytes", json_object_new_uint64(m->comp.raw_bytes));
	add(r, "compress_wire_bytes", json_object_new_uint64(m->comp.wire_bytes));
	add(r, "compress_ratio", num("%.3f", m->comp.raw_bytes ?
				     (double)m->comp.wire_bytes / m->comp.raw_bytes : 1));
	add(r, "compress_zstd_batches", json_object_new_uint64(m->comp.zstd_batches));
	add(r, "compress_raw_batches", json_object_new_uint64(m->comp.raw_batches));
	add(r, "compress_cpu_s", num("%.3f", m->comp.cpu_s));
	a = json_object_new_array();
	for (i = 0; i < m->nr_iter; i++)
		json_object_array_add(a, phase(&m->iter[i]));
	add(r, "iterations", a);
	/*
	 * SDPS: what each vCPU slept in all, as vmtrace counted it; the
	 * switchover's pause is the stun.  sdps_stun_ms_per_vcpu is the old
	 * name of the same array, kept for one release.
	 */
	add(r, "sdps", json_object_new_boolean(m->sleep_read));
	a = json_object_new_array();
	for (i = 0; m->sleep_read && i < m->sdps_sleep.nr_vcpus; i++)
		json_object_array_add(a, num("%.3f", m->sdps_sleep.vcpus[i].stun_ns / 1e6));
	add(r, "sdps_sleep_ms_per_vcpu", a);
	add(r, "sdps_stun_ms_per_vcpu", json_object_get(a));
	f = fopen(m->json, "w");
	if (f) {
		int ok = fprintf(f, "%s\n", json_object_to_json_string_ext(r,
				 JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
				 JSON_C_TO_STRING_NOSLASHESCAPE)) >= 0;

		if (fclose(f) || !ok)
			f = NULL;
	}
	if (!f)
		fail("--json %s: %s", m->json, strerror(errno));
	json_object_put(r);
}
