/* ut.h - shared runner for the Check unit tests. */
#ifndef UT_H
#define UT_H

#include <check.h>

/* Run every test of s; exit status 0 only if all passed. */
static inline int ut_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif
