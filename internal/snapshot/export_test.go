package snapshot

// DecodeSet is decodeSet, for the tests outside the package.
var DecodeSet = decodeSet

// AppendSet is appendSet, for the tests outside the package.
var AppendSet = appendSet

// DecodeBinarySet decodes one set in the binary encoding, for the tests
// outside the package.
func DecodeBinarySet(b []byte, s *VolumeSet) error { return new(decoder).set(b, s, -1) }
