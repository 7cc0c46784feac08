package export

// The tests lower the bound on one DISKFILE read, and the benchmark
// compares walks that read each set's files alone.
var (
	MaxGensRead = &maxGensRead
	FilesBatch  = &filesBatch
)
