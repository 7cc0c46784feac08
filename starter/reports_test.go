package main

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"
)

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                     "plain",
		"line one\nline two\n":      "line one ⏎ line two",
		"crlf\r\nend":               "crlf ⏎ end",
		"tab\there":                 "tab here",
		"bell\a and escape \x1b[2J": `bell\a and escape \x1b[2J`,
	} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// A multi-line value stays in its row and column.
func TestTableKeepsRows(t *testing.T) {
	var b bytes.Buffer
	tb := newTable(&b, 0, "SEQ", "OUTCOME", "ERROR")
	tb.row(1, "Failed", "unsafe configuration, nothing imported:\nCONFIG_STORE_ACCESS: DS_PROD\tis PRIMARY")
	tb.row(2, "Completed", "")
	must(t, tb.flush())
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[2], "2    Completed") ||
		!strings.HasSuffix(lines[1], "nothing imported: ⏎ CONFIG_STORE_ACCESS: DS_PROD is PRIMARY") {
		t.Errorf("table:\n%s", b.String())
	}
	b.Reset()
	tb = newTable(&b, tabwriter.AlignRight, "ENTITY", "CREATE")
	tb.row("VOLUME", 12)
	must(t, tb.flush())
	if want := "  ENTITY  CREATE\n  VOLUME      12\n"; b.String() != want {
		t.Errorf("right-aligned table %q, want %q", b.String(), want)
	}
}
