package main

import "testing"

func TestSyncFlagsRefused(t *testing.T) {
	for _, c := range []struct {
		want []string
		args []string
	}{
		{[]string{"--store"}, []string{"sync", "--type", "full"}},
		{[]string{"--type", "weekly"}, []string{"sync", "--store", "DS_PROD", "--type", "weekly"}},
		{[]string{"--catalogfiles", "maybe"}, []string{"sync", "--store", "DS_PROD", "--catalogfiles", "maybe"}},
		{[]string{"--node-map", "PRIM=SECD"}, []string{"sync", "--store", "DS_PROD", "--node-map", "PRIM=SECD"}},
	} {
		mustFail(t, c.want, c.args...)
	}
	t.Setenv("CATSYNC_PRIMARY_NAME", "")
	mustFail(t, []string{"CATSYNC_PRIMARY_NAME"}, "sync", "--store", "DS_PROD")
}
