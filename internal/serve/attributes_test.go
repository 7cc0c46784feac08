package serve

import (
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/catsync/catsync/workflows"
)

// The worker registers every search attribute the workflows set, with its
// type: one it left out fails each run that sets it.
func TestSearchAttributesAreTheWorkflows(t *testing.T) {
	want := workflows.SearchAttributes().GetUntypedValues()
	if len(SearchAttributes) != len(want) {
		t.Fatalf("registers %v, the workflows set %d", SearchAttributes, len(want))
	}
	for k := range want {
		if got, ok := SearchAttributes[k.GetName()]; !ok || got != k.GetValueType() {
			t.Errorf("%s registered as %v, want %v", k.GetName(), got, k.GetValueType())
		}
	}
	if SearchAttributes[workflows.RestorableKey.GetName()] != enumspb.INDEXED_VALUE_TYPE_DOUBLE {
		t.Errorf("CatsyncRestorable: %v, want DOUBLE", SearchAttributes[workflows.RestorableKey.GetName()])
	}
}
