package safety

// Helpers of the internal tests that the store-backed tests of package
// safety_test share (they import the importer, which imports safety).
var (
	FixtureSet = fixtureSet
	RulesOf    = rules
)
