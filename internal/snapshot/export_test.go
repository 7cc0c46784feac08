package snapshot

// DecodeSet is decodeSet, for the tests outside the package.
var DecodeSet = decodeSet
