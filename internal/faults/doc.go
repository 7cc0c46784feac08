// Package faults holds the crash-and-fault matrix (make faults): seeded
// trials that each start a FULL, an UPDATE or a drill on simulated sites
// served by catsync's own worker processes, hit it with one fault at a
// step boundary or in the middle of a step (a worker killed, a staged
// segment damaged, the key manager, a catalog database or the Temporal
// frontend gone for a while), let it converge, and check the secondary
// against the primary: nothing lost, nothing duplicated, nothing corrupt
// applied, the audit chain intact. docs/faults.md describes it.
package faults
