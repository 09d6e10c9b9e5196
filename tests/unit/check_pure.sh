#!/bin/sh
# check_pure.sh - the pure cores must not depend on libqb, corosync, libvirt,
# libiscsi or sqlite (DESIGN.md): no undefined symbol of theirs may appear.
top=${top_builddir:-.}
rc=0
for lib in common/libcm.a quorum/libquo.a witness/libwitcore.a clusterd/libcdsync.a resources/libres.a csv/libcsv.a validate/libvlcore.a; do
	bad=$(nm -u "$top/$lib" | awk '{print $2}' | grep -E '^(qb_|cpg_|votequorum_|quorum_|cmap_|corosync_|sqlite3_|vir[A-Z]|iscsi_)' || true)
	if [ -n "$bad" ]; then
		echo "FAIL pure-$lib: links $bad"
		rc=1
	else
		echo "PASS pure-$lib"
	fi
done
exit $rc
