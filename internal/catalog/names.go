package catalog

import "strings"

// Name rules shared by several records (DSM/TC User's Guide, MEDIACOM manual).

func isUpperAlpha(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool      { return isUpperAlpha(c) || isDigit(c) }

// guardianName: 1..max upper-case alphanumerics, the first alphabetic.
func guardianName(s string, max int) bool {
	if len(s) < 1 || len(s) > max || !isUpperAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// ValidNode reports whether s is a node name: a backslash and 1..7
// alphanumerics, the first alphabetic (\PRIM).
func ValidNode(s string) bool {
	return strings.HasPrefix(s, `\`) && guardianName(s[1:], 7)
}

// ValidLabel reports whether s is a tape volume name (VOLSER): 1..6 upper-case
// letters or digits. Pseudo-labels of unlabeled volumes follow the same rule.
func ValidLabel(s string) bool {
	if len(s) < 1 || len(s) > 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// ValidPoolName reports whether s is a pool name: 1..30 letters, digits or
// underscores, the first alphabetic.
func ValidPoolName(s string) bool {
	if len(s) < 1 || len(s) > 30 || !isUpperAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

// ValidCatalogName reports whether s is a VOLCAT or FILECAT logical name,
// optionally node-qualified (\PRIM.VCPROD), at most 30 characters in all.
func ValidCatalogName(s string) bool {
	if len(s) > 30 {
		return false
	}
	if strings.HasPrefix(s, `\`) {
		node, name, ok := strings.Cut(s, ".")
		if !ok || !ValidNode(node) {
			return false
		}
		s = name
	}
	return ValidPoolName(s)
}

// CatalogNode returns the node qualifying a catalog name, or "" if none.
func CatalogNode(s string) string {
	if node, _, ok := strings.Cut(s, "."); ok && strings.HasPrefix(node, `\`) {
		return node
	}
	return ""
}

// ValidDiskFileName reports whether s is a fully qualified Guardian disk file
// name carrying its node: \NODE.$VOL.SUBVOL.FILE, at most 35 characters.
func ValidDiskFileName(s string) bool {
	if len(s) > 35 {
		return false
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 || !ValidNode(parts[0]) {
		return false
	}
	vol := parts[1]
	return strings.HasPrefix(vol, "$") && guardianName(vol[1:], 7) &&
		guardianName(parts[2], 8) && guardianName(parts[3], 8)
}

// DiskFileNode returns the node part of a disk file name (\PRIM of
// \PRIM.$DATA.OPER.RECDS), or "" if the name is not node-qualified.
func DiskFileNode(s string) string {
	node, _, _ := strings.Cut(s, ".")
	if !strings.HasPrefix(node, `\`) {
		return ""
	}
	return node
}

// ValidFileID reports whether s is a DSM/TC FILEID: 1..60 printable characters
// without spaces. Unlike other names it need not start with a letter.
func ValidFileID(s string) bool {
	if len(s) < 1 || len(s) > 60 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// LabelFileID is the part of a FILEID written in the HDR1 label: its
// rightmost 17 characters.
func LabelFileID(fileID string) string {
	if len(fileID) <= 17 {
		return fileID
	}
	return fileID[len(fileID)-17:]
}

func printable(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func oneOf[T comparable](v T, set ...T) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}
