package sqlstore

import "testing"

// Keys held back that print alike when joined, or as characters, stay apart.
func TestHeldKeysDiffer(t *testing.T) {
	pairs := [][2][]any{
		{{"AB", "C"}, {"A", "BC"}},
		{{"F", int64(1) << 40}, {"F", int64(1)<<40 + 1}},
		{{"F", 12, 0}, {"F", 1, 20}},
		{{"1:A"}, {"A", "1"}},
		{{int64(3)}, {"3"}},
		{{true, "x"}, {"true", "x"}},
	}
	for _, p := range pairs {
		if heldKey(p[0]) == heldKey(p[1]) {
			t.Errorf("%v and %v share the held key %s", p[0], p[1], heldKey(p[0]))
		}
	}
}
