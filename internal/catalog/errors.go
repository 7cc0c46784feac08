package catalog

import "fmt"

// FieldError reports one invalid field of one record.
type FieldError struct {
	Record string // record type, e.g. "TAPEVOLUME"
	Key    string // the record's key, e.g. "\PRIM.VCPROD BBOX_BACKUP T00045"
	Field  string // column or field name, e.g. "VOLSER"
	Value  any    // the offending value
	Reason string // what the rule requires
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %s: %s %q: %s", e.Record, e.Key, e.Field, fmt.Sprint(e.Value), e.Reason)
}

// checker collects the first violation found while validating one record.
type checker struct {
	record, key string
	err         *FieldError
}

func newChecker(record, key string) *checker { return &checker{record: record, key: key} }

// check records a violation of field unless ok holds; only the first is kept.
func (c *checker) check(ok bool, field string, value any, reason string) {
	if !ok && c.err == nil {
		c.err = &FieldError{Record: c.record, Key: c.key, Field: field, Value: value, Reason: reason}
	}
}

func (c *checker) result() error {
	if c.err == nil {
		return nil
	}
	return c.err
}

// ConfigError is a site set-up that makes a step impossible or unsafe (a
// data store with the wrong access, a volume group missing on the
// secondary, an unsafe catalog layout): retrying cannot help, the operator
// must change the configuration.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

// ConfigErrorf formats a ConfigError.
func ConfigErrorf(format string, args ...any) error {
	return &ConfigError{Msg: fmt.Sprintf(format, args...)}
}
