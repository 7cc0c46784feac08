package activities

// Heartbeat is heartbeat, for the tests of KeepAlive outside the package.
var Heartbeat = heartbeat
