package catalog

import (
	"strings"
	"testing"
)

// nameCase is one row of an accept/reject table for a name predicate.
type nameCase struct {
	in   string
	want bool
	why  string
}

func runNameCases(t *testing.T, pred func(string) bool, cases []nameCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.why, func(t *testing.T) {
			if got := pred(tc.in); got != tc.want {
				t.Errorf("(%q) = %v, want %v (len %d)", tc.in, got, tc.want, len(tc.in))
			}
		})
	}
}

// alnum returns n upper-case alphanumerics starting with a letter: A, AB, ABC...
// then digits, so that every prefix is a valid Guardian name.
func alnum(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(chars[i%len(chars)])
	}
	return b.String()
}

func TestAlnumHelper(t *testing.T) {
	if got := alnum(30); len(got) != 30 || !ValidPoolName(got) {
		t.Fatalf("alnum(30) = %q", got)
	}
}

func TestValidNode(t *testing.T) {
	runNameCases(t, ValidNode, []nameCase{
		{`\PRIM`, true, "typical"},
		{`\SECD`, true, "secondary"},
		{`\NSBLDE4`, true, "7 chars with digit"},
		{`\P`, true, "1 char"},
		{`\` + alnum(7), true, "7 chars max"},
		{`\` + alnum(8), false, "8 chars"},
		{``, false, "empty"},
		{`\`, false, "backslash only"},
		{`PRIM`, false, "no backslash"},
		{`\1PRIM`, false, "starts with digit"},
		{`\prim`, false, "lower case"},
		{`\PR_IM`, false, "underscore"},
		{`\PRIM.`, false, "trailing dot"},
		{`\PRIM.VCPROD`, false, "catalog name, not a node"},
		{`\\PRIM`, false, "double backslash"},
		{` \PRIM`, false, "leading space"},
		{`\PRIM `, false, "trailing space"},
		{`$PRIM`, false, "dollar instead of backslash"},
	})
}

func TestValidLabel(t *testing.T) {
	runNameCases(t, ValidLabel, []nameCase{
		{"T00045", true, "6 chars"},
		{"123456", true, "all digits"},
		{"TAP15", true, "5 chars"},
		{"A20", true, "3 chars"},
		{"A", true, "1 char"},
		{"TAP046", true, "letters and digits"},
		{"T000456", false, "7 chars"},
		{"", false, "empty"},
		{"t00045", false, "lower case"},
		{"T 0045", false, "space"},
		{"T-0045", false, "hyphen"},
		{"T_0045", false, "underscore"},
		{"T0004\x00", false, "NUL byte"},
		{"TÄP01", false, "non-ASCII"},
	})
}

func TestValidPoolName(t *testing.T) {
	runNameCases(t, ValidPoolName, []nameCase{
		{"BBOX_BACKUP", true, "typical"},
		{"IBM_TAPES_FOR_SPECIAL_CASES", true, "long with underscores"},
		{"TAPES1993", true, "trailing digits"},
		{"A", true, "1 char"},
		{"A_", true, "trailing underscore"},
		{alnum(30), true, "30 chars"},
		{alnum(29) + "_", true, "30 chars ending with underscore"},
		{alnum(31), false, "31 chars"},
		{"", false, "empty"},
		{"1993TAPES", false, "starts with digit"},
		{"_TAPES", false, "starts with underscore"},
		{"MKT-TAPES", false, "hyphen"},
		{"MKT TAPES", false, "space"},
		{"mkt_tapes", false, "lower case"},
		{`\PRIM.POOL`, false, "node-qualified"},
		{"POOL.A", false, "dot"},
	})
}

func TestValidCatalogName(t *testing.T) {
	runNameCases(t, ValidCatalogName, []nameCase{
		{`\PRIM.VCPROD`, true, "node-qualified"},
		{`\SECD.FCREPL`, true, "node-qualified filecat"},
		{`VCPROD`, true, "unqualified"},
		{`\PRIM.VC_PROD_1`, true, "underscore and digit"},
		{alnum(30), true, "30 chars unqualified"},
		{alnum(31), false, "31 chars unqualified"},
		{`\PRIM.` + alnum(24), true, "30 chars node-qualified"},
		{`\PRIM.` + alnum(25), false, "31 chars node-qualified"},
		{`\` + alnum(7) + "." + alnum(21), true, "30 chars with 7-char node"},
		{`\` + alnum(7) + "." + alnum(22), false, "31 chars with 7-char node"},
		{``, false, "empty"},
		{`\PRIM`, false, "node only"},
		{`\PRIM.`, false, "empty name after node"},
		{`\.VCPROD`, false, "empty node"},
		{`.VCPROD`, false, "leading dot"},
		{`PRIM.VCPROD`, false, "node without backslash"},
		{`\PRIMARY1.VC`, false, "8-char node"},
		{`\PRIM.1VC`, false, "name starts with digit"},
		{`\PRIM.VC.PROD`, false, "two dots"},
		{`\PRIM.VC-PROD`, false, "hyphen"},
		{`VC PROD`, false, "space"},
		{`\prim.vcprod`, false, "lower case"},
	})
}

func TestCatalogNode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`\PRIM.VCPROD`, `\PRIM`},
		{`\SECD.FCREPL`, `\SECD`},
		{`\NSBLDE4.VC`, `\NSBLDE4`},
		{`VCPROD`, ``},
		{``, ``},
		{`\PRIM`, ``},
		{`PRIM.VCPROD`, ``},
	} {
		if got := CatalogNode(tc.in); got != tc.want {
			t.Errorf("CatalogNode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidDiskFileName(t *testing.T) {
	max := `\` + alnum(7) + `.$` + alnum(7) + `.` + alnum(8) + `.` + alnum(8)
	if len(max) != 35 {
		t.Fatalf("test setup: max name has %d chars", len(max))
	}
	runNameCases(t, ValidDiskFileName, []nameCase{
		{`\PRIM.$DATA.OPER.RECDS`, true, "typical"},
		{`\PRIM.$PAY.PAYAP.ACCTS`, true, "typical 2"},
		{`\P.$V.S.F`, true, "shortest"},
		{`\NSBLDE4.$SYSTEM.SYSTEM.TACLCSTM`, true, "digits in node"},
		{max, true, "35 chars"},
		{max + "X", false, "36 chars"},
		{`\` + alnum(7) + `.$` + alnum(7) + `.` + alnum(9) + `.` + alnum(8), false, "36 chars (9-char subvolume)"},
		{`$DATA.OPER.RECDS`, false, "no node"},
		{`DATA.OPER.RECDS`, false, "no node, no dollar"},
		{`PRIM.$DATA.OPER.RECDS`, false, "node without backslash"},
		{`\PRIMARY1.$DATA.OPER.RECDS`, false, "8-char node"},
		{`\PRIM.DATA.OPER.RECDS`, false, "volume without dollar"},
		{`\PRIM.$.OPER.RECDS`, false, "empty volume"},
		{`\PRIM.$DATABASE.OPER.RECDS`, false, "8-char volume"},
		{`\PRIM.$1DATA.OPER.RECDS`, false, "volume starts with digit"},
		{`\PRIM.$DATA.OPER`, false, "missing file"},
		{`\PRIM.$DATA.OPER.RECDS.X`, false, "five parts"},
		{`\PRIM.$DATA..RECDS`, false, "empty subvolume"},
		{`\PRIM.$DATA.1OPER.RECDS`, false, "subvolume starts with digit"},
		{`\PRIM.$DATA.OPER.RECDS1234`, false, "9-char file"},
		{`\PRIM.$DATA.OPER.*`, false, "wildcard"},
		{`\prim.$data.oper.recds`, false, "lower case"},
		{``, false, "empty"},
	})
}

func TestDiskFileNode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`\PRIM.$DATA.OPER.RECDS`, `\PRIM`},
		{`\NODEP.$PAY.PAYAP.ACCTS`, `\NODEP`},
		{`\PRIM`, `\PRIM`},
		{`$DATA.OPER.RECDS`, ``}, // not node-qualified: no node part
		{`DATA.OPER.RECDS`, ``},
		{``, ``},
	} {
		if got := DiskFileNode(tc.in); got != tc.want {
			t.Errorf("DiskFileNode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidFileID(t *testing.T) {
	runNameCases(t, ValidFileID, []nameCase{
		{"MASTER_ACCT", true, "typical"},
		{"FULL-BACKUP", true, "hyphen"},
		{"123_START", true, "starts with digit"},
		{"_X", true, "starts with underscore"},
		{"a.b/c~!", true, "lower case and punctuation"},
		{"X", true, "1 char"},
		{strings.Repeat("F", 60), true, "60 chars"},
		{strings.Repeat("F", 61), false, "61 chars"},
		{"", false, "empty"},
		{"PAYROLL BACKUP", false, "space"},
		{"PAYROLL\tBACKUP", false, "tab"},
		{"PAYROLL\x7f", false, "DEL"},
		{"PAYROLL\x00", false, "NUL"},
		{"PAYRÔLL", false, "non-ASCII"},
	})
}

func TestLabelFileID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"MASTER_ACCT", "MASTER_ACCT"},
		{"ABCDEFGHIJKLMNOPQ", "ABCDEFGHIJKLMNOPQ"},                           // exactly 17
		{"ABCDEFGHIJKLMNOPQR", "BCDEFGHIJKLMNOPQR"},                          // 18: drop the first
		{"SALES_REPORT_LOCAL", "ALES_REPORT_LOCAL"},                          // 18
		{strings.Repeat("X", 43) + "YEAR_END_REPORT_1", "YEAR_END_REPORT_1"}, // 60
	} {
		got := LabelFileID(tc.in)
		if got != tc.want {
			t.Errorf("LabelFileID(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if len(got) > 17 {
			t.Errorf("LabelFileID(%q) has %d chars, more than 17", tc.in, len(got))
		}
		if !strings.HasSuffix(tc.in, got) {
			t.Errorf("LabelFileID(%q) = %q is not a suffix", tc.in, got)
		}
	}
}
