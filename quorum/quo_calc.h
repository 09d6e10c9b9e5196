/* quo_calc.h - quorum arithmetic: who has quorum in a partition.
 *
 * Node majority: every configured node has one vote. Node-and-disk majority:
 * the witness LUN adds one vote, held by at most one partition (the one
 * whose member holds its SCSI-3 reservation). Quorum is a strict majority of
 * the expected votes: expected / 2 + 1. Pure: no I/O, no clock, no globals.
 */
#ifndef QUO_CALC_H
#define QUO_CALC_H

#include <stdbool.h>
#include <stdint.h>

enum quo_mode {
	QUO_NODE_MAJORITY = 0,
	QUO_NODE_AND_DISK_MAJORITY = 1,
};

struct quo_config {
	enum quo_mode mode;
	uint32_t nodes;          /* configured nodes, one vote each */
};

struct quo_result {
	uint32_t expected;       /* all votes there could be */
	uint32_t needed;         /* votes a partition needs: expected / 2 + 1 */
	uint32_t votes;          /* votes this partition has */
	bool quorate;
};

/* Votes of the witness in a mode (1 in node-and-disk majority, else 0). */
uint32_t quo_witness_votes(enum quo_mode mode);
/* A partition of `members` configured nodes, holding the witness or not. */
void quo_calc(const struct quo_config *c, uint32_t members, bool witness_held, struct quo_result *r);

const char *quo_mode_to_str(enum quo_mode m);
/* "node-majority" or "node-and-disk-majority"; -1 if neither. */
int quo_mode_from_str(const char *s);

#endif
