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
// The record's key is formatted, and a value boxed, only for a violation:
// a sync validates every record it moves, twice, and nearly all are valid.
type checker struct {
	record string
	err    *FieldError
}

func newChecker(record string) *checker { return &checker{record: record} }

// check records a violation of field unless ok holds; only the first is
// kept. It is a function, not a method, so that it can take value's type.
func check[T any](c *checker, ok bool, field string, value T, reason string) {
	if !ok {
		c.fail(field, value, reason)
	}
}

// fail records a violation of field, unless one was recorded before.
func (c *checker) fail(field string, value any, reason string) {
	if c.err == nil {
		c.err = &FieldError{Record: c.record, Field: field, Value: value, Reason: reason}
	}
}

// result is the first violation, if any, naming the record by key.
func (c *checker) result(key func() string) error {
	if c.err == nil {
		return nil
	}
	c.err.Key = key()
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
