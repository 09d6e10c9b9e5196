/* lun_main.c - `clusterd-lun`: the LUN tool the csv and physical-disk
 * resource types run and tests use to read a LUN. Dispatches to the csv
 * half (csv/lun_csv.c) or the disk half (resources/lun_disk.c); owns
 * nothing else. */
#include <stdio.h>
#include <string.h>

#include "lun_tool.h"

static void usage(FILE *f)
{
	fputs("usage: clusterd-lun csv SUBCMD URL --initiator IQN [options]   (clusterd-lun csv --help)\n"
	      "       clusterd-lun disk SUBCMD URL --initiator IQN [options]  (clusterd-lun disk --help)\n"
	      "URL is iscsi://ADDR[:PORT]/IQN/LUN. Exit status: 0 done, 1 refused or check failed,\n"
	      "2 usage or transport error.\n", f);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "csv") == 0)
		return lun_csv_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "disk") == 0)
		return lun_disk_main(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2)
		fprintf(stderr, "clusterd-lun: unknown area '%s' (csv or disk)\n", argv[1]);
	usage(stderr);
	return 2;
}
