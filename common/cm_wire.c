/* cm_wire.c - encode and decode the wire format (see cm_wire.h). Pure. */
#include <errno.h>
#include <string.h>

#include "cm_err.h"
#include "cm_wire.h"

void cm_msg_init(struct cm_msg *m, uint16_t type)
{
	memset(m, 0, sizeof(*m));
	m->version = CM_WIRE_VERSION;
	m->type = type;
}

int cm_msg_add_int(struct cm_msg *m, int64_t v)
{
	if (m->nints >= CM_WIRE_MAX_INTS)
		return -CM_E_TOOBIG;
	m->ints[m->nints++] = v;
	return 0;
}

int cm_msg_add_blob(struct cm_msg *m, const void *p, uint32_t len)
{
	if (m->nstrs >= CM_WIRE_MAX_STRS || len > CM_WIRE_MAX_LEN)
		return -CM_E_TOOBIG;
	m->strs[m->nstrs].p = p;
	m->strs[m->nstrs].len = len;
	m->nstrs++;
	return 0;
}

int cm_msg_add_str(struct cm_msg *m, const char *s)
{
	size_t n = strlen(s ? s : "");

	if (n > CM_WIRE_MAX_LEN)
		return -CM_E_TOOBIG;
	return cm_msg_add_blob(m, s ? s : "", (uint32_t)n);
}

int cm_msg_encode(const struct cm_msg *m, struct cm_sb *out)
{
	unsigned char hdr[CM_WIRE_HDR_LEN], b8[8];
	uint64_t total = CM_WIRE_HDR_LEN + 8ull * m->nints;
	unsigned i;

	if (m->nints > CM_WIRE_MAX_INTS || m->nstrs > CM_WIRE_MAX_STRS)
		return -CM_E_TOOBIG;
	for (i = 0; i < m->nstrs; i++)
		total += 4ull + m->strs[i].len + 1;
	if (total > CM_WIRE_MAX_LEN)
		return -CM_E_TOOBIG;

	cm_le_put(hdr, CM_WIRE_MAGIC, 4);
	cm_le_put(hdr + 4, m->version, 2);
	cm_le_put(hdr + 6, m->type, 2);
	cm_le_put(hdr + 8, total, 4);
	cm_le_put(hdr + 12, m->flags, 4);
	cm_le_put(hdr + 16, m->sender, 4);
	cm_le_put(hdr + 20, m->nints, 2);
	cm_le_put(hdr + 22, m->nstrs, 2);
	cm_le_put(hdr + 24, m->id, 8);
	cm_le_put(hdr + 32, m->time_ms, 8);
	cm_sb_reset(out);
	cm_sb_add(out, (const char *)hdr, sizeof(hdr));
	for (i = 0; i < m->nints; i++) {
		cm_le_put(b8, (uint64_t)m->ints[i], 8);
		cm_sb_add(out, (const char *)b8, 8);
	}
	for (i = 0; i < m->nstrs; i++) {
		cm_le_put(b8, m->strs[i].len, 4);
		cm_sb_add(out, (const char *)b8, 4);
		cm_sb_add(out, m->strs[i].p, m->strs[i].len);
		cm_sb_putc(out, '\0');
	}
	return cm_sb_failed(out) ? -ENOMEM : 0;
}

int cm_msg_decode(const void *buf, size_t len, struct cm_msg *m)
{
	const unsigned char *p = buf;
	size_t off, total;
	unsigned i;

	memset(m, 0, sizeof(*m));
	if (buf == NULL || len < CM_WIRE_HDR_LEN)
		return -CM_E_PROTO;
	if (cm_le_get(p, 4) != CM_WIRE_MAGIC)
		return -CM_E_PROTO;
	m->version = (uint16_t)cm_le_get(p + 4, 2);
	if (m->version != CM_WIRE_VERSION)
		return -CM_E_VERSION;
	m->type = (uint16_t)cm_le_get(p + 6, 2);
	total = (size_t)cm_le_get(p + 8, 4);
	if (total > CM_WIRE_MAX_LEN)
		return -CM_E_TOOBIG;
	if (total != len)
		return -CM_E_PROTO;
	m->flags = (uint32_t)cm_le_get(p + 12, 4);
	m->sender = (uint32_t)cm_le_get(p + 16, 4);
	m->nints = (uint16_t)cm_le_get(p + 20, 2);
	m->nstrs = (uint16_t)cm_le_get(p + 22, 2);
	m->id = cm_le_get(p + 24, 8);
	m->time_ms = cm_le_get(p + 32, 8);
	if (m->nints > CM_WIRE_MAX_INTS || m->nstrs > CM_WIRE_MAX_STRS)
		return -CM_E_PROTO;
	off = CM_WIRE_HDR_LEN;
	if (total - off < 8u * m->nints)
		return -CM_E_PROTO;
	for (i = 0; i < m->nints; i++, off += 8)
		m->ints[i] = (int64_t)cm_le_get(p + off, 8);
	for (i = 0; i < m->nstrs; i++) {
		uint64_t slen;

		if (total - off < 4)
			return -CM_E_PROTO;
		slen = cm_le_get(p + off, 4);
		off += 4;
		if (slen + 1 > total - off || p[off + slen] != '\0')
			return -CM_E_PROTO;
		m->strs[i].p = (const char *)p + off;
		m->strs[i].len = (uint32_t)slen;
		off += slen + 1;
	}
	if (off != total)
		return -CM_E_PROTO;
	return 0;
}

const char *cm_msg_str(const struct cm_msg *m, unsigned i)
{
	if (i >= m->nstrs)
		return NULL;
	if (memchr(m->strs[i].p, '\0', m->strs[i].len) != NULL)
		return NULL;
	return m->strs[i].p;
}

int64_t cm_msg_int(const struct cm_msg *m, unsigned i, int64_t def)
{
	return i < m->nints ? m->ints[i] : def;
}

const char *cm_msg_type_to_str(uint16_t type)
{
	switch (type) {
	case CM_MSG_WRITE: return "write";
	case CM_MSG_SYNC_STATE: return "sync-state";
	case CM_MSG_SYNC_DATA: return "sync-data";
	case CM_MSG_EPOCH: return "epoch";
	case CM_MSG_REQUEST: return "request";
	case CM_MSG_REPLY: return "reply";
	default: return "unknown";
	}
}
