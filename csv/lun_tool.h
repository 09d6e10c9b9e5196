/* lun_tool.h - the two halves of `clusterd-lun`: csv (csv/lun_csv.c) and
 * disk (resources/lun_disk.c). Each takes argv from its own name on
 * (argv[0] is "csv" or "disk") and returns the process exit status:
 * 0 done, 1 refused or check failed (a sentence on stderr), 2 usage or
 * transport error. */
#ifndef LUN_TOOL_H
#define LUN_TOOL_H

int lun_csv_main(int argc, char **argv);
int lun_disk_main(int argc, char **argv);

#endif
