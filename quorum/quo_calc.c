/* quo_calc.c - quorum arithmetic (see quo_calc.h). Pure. */
#include <string.h>

#include "quo_calc.h"

uint32_t quo_witness_votes(enum quo_mode mode)
{
	return mode == QUO_NODE_AND_DISK_MAJORITY ? 1 : 0;
}

void quo_calc(const struct quo_config *c, uint32_t members, bool witness_held, struct quo_result *r)
{
	uint32_t w = quo_witness_votes(c->mode);

	if (members > c->nodes)
		members = c->nodes;
	r->expected = c->nodes + w;
	r->needed = r->expected / 2 + 1;
	r->votes = members + (witness_held ? w : 0);
	r->quorate = c->nodes > 0 && r->votes >= r->needed;
}

const char *quo_mode_to_str(enum quo_mode m)
{
	return m == QUO_NODE_AND_DISK_MAJORITY ? "node-and-disk-majority" : "node-majority";
}

int quo_mode_from_str(const char *s)
{
	if (s && strcmp(s, "node-majority") == 0)
		return QUO_NODE_MAJORITY;
	if (s && strcmp(s, "node-and-disk-majority") == 0)
		return QUO_NODE_AND_DISK_MAJORITY;
	return -1;
}
