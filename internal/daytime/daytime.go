// Package daytime holds times of the day as seconds since midnight, wall
// clock, and spans of the day between two of them: the schedules' times
// and DSM/TC's quiet window.
package daytime

import (
	"fmt"
	"time"
)

// Day is the number of seconds in a day.
const Day = 24 * 60 * 60

// Span is a span of the day, start included, end excluded, in seconds of
// the day; it passes midnight when Start is after End.
type Span struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Contains reports whether second s of the day is in the span.
func (q Span) Contains(s int) bool {
	if q.Start < q.End {
		return s >= q.Start && s < q.End
	}
	return s >= q.Start || s < q.End // past midnight
}

func (q Span) String() string { return Clock(q.Start) + "-" + Clock(q.End) }

// Clock is second s of the day as HH:MM, or HH:MM:SS when it has seconds.
func Clock(s int) string {
	if s%60 != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/3600, s/60%60)
}

// Second is the wall-clock second of the day of t, in t's location: on a
// day the clocks change, not the time elapsed since midnight.
func Second(t time.Time) int { return t.Hour()*3600 + t.Minute()*60 + t.Second() }
