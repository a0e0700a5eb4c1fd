// Package validate holds the checks that both the configuration file and the
// construct props apply, so the two report the same rule the same way.
package validate

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

var (
	accountPattern      = regexp.MustCompile(`^\d{12}$`)
	regionPattern       = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-(north|south|east|west|central|northeast|northwest|southeast|southwest)-\d{1,2}$`)
	consumerNamePattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)
	projectPattern      = regexp.MustCompile(`^[a-z][a-z0-9-]{1,19}$`)
	schedulePattern     = regexp.MustCompile(`^rate\(([1-9]\d*)(minutes|hours|days)\)$`)
)

// ConsumerName checks a consumer's short name. It becomes part of bucket,
// flow and state names, so config and construct props apply the same rule.
func ConsumerName(key, value string) error {
	return Match(key, value, consumerNamePattern, "1 to 12 lowercase letters or digits, starting with a letter")
}

// Project checks the prefix of every derived name (buckets, roles, flows):
// config and the pattern constructs apply the same rule.
func Project(key, value string) error {
	return Match(key, value, projectPattern, "2 to 20 lowercase letters, digits or hyphens, starting with a letter")
}

// Unresolved reports whether s holds a CDK string token (a value known only
// at deploy time), which a synth-time check must let through. It matches the
// encoding CDK gives string tokens, so validation stays free of jsii calls.
func Unresolved(s string) bool {
	return strings.Contains(s, "${Token[")
}

// Account checks a 12-digit AWS account id.
func Account(key, value string) error {
	if Unresolved(value) || accountPattern.MatchString(value) {
		return nil
	}
	return fmt.Errorf("%s must be a 12-digit AWS account id, got %q", key, value)
}

// Region checks the shape of an AWS region name such as eu-west-1.
func Region(key, value string) error {
	if Unresolved(value) || regionPattern.MatchString(value) {
		return nil
	}
	return fmt.Errorf("%s must be an AWS region such as eu-west-1, got %q", key, value)
}

// Schedule checks an AppFlow rate expression. AppFlow wants no space inside
// the parentheses (rate(1days)), and Marketo flows run at most hourly.
func Schedule(key, value string) error {
	if Unresolved(value) {
		return nil
	}
	m := schedulePattern.FindStringSubmatch(value)
	if m == nil {
		return fmt.Errorf("%s must look like rate(1days) or rate(6hours), got %q", key, value)
	}
	if m[2] == "minutes" {
		return fmt.Errorf("%s must be at least rate(1hours): Marketo flows run at most hourly, got %q", key, value)
	}
	return nil
}

// ScheduleHours is the interval of a valid rate(...) schedule in hours.
func ScheduleHours(value string) int {
	m := schedulePattern.FindStringSubmatch(value)
	if m == nil {
		return 0
	}
	n := 0
	fmt.Sscan(m[1], &n)
	if m[2] == "days" {
		return n * 24
	}
	return n
}

// Required checks that a string is not empty.
func Required(key, value string) error {
	if value == "" {
		return fmt.Errorf("%s is required", key)
	}
	return nil
}

// Match checks a value against a pattern described in words for the message.
func Match(key, value string, pattern *regexp.Regexp, want string) error {
	if Unresolved(value) || pattern.MatchString(value) {
		return nil
	}
	return fmt.Errorf("%s must be %s, got %q", key, want, value)
}

// Range checks a whole number within [lo, hi].
func Range(key string, value, lo, hi float64) error {
	if value < lo || value > hi || value != float64(int64(value)) {
		return fmt.Errorf("%s must be a whole number from %g to %g, got %g", key, lo, hi, value)
	}
	return nil
}

// StaleAfterHours bounds the age of a run that counts as left behind (in
// hours): not before the slowest run could have finished, not past the 30
// days a landed object is worth looking for.
func StaleAfterHours(key string, hours float64) error {
	if hours < 1 || hours > 720 {
		return fmt.Errorf("%s must be from 1 to 720 hours, got %g", key, hours)
	}
	return nil
}

// PropsError is what a construct panics with when its props are invalid.
type PropsError struct {
	Construct string
	Err       error
}

func (e *PropsError) Error() string { return e.Construct + ": " + e.Err.Error() }

// Unwrap exposes the individual problems (an errors.Join).
func (e *PropsError) Unwrap() error { return e.Err }

// Must stops synthesis with one clear message when props are wrong, before
// any child is created. CDK reports construct errors by throwing; in Go that
// is a panic, which cmd/ recovers and prints as lines, not a trace.
func Must(construct string, err error) {
	if err != nil {
		panic(&PropsError{Construct: construct, Err: err})
	}
}

// RequiredStrings reports, in name order, every field that is nil or empty.
func RequiredStrings(fields map[string]*string) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if v := fields[name]; v == nil || *v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	return errors.Join(errs...)
}

// NotNil reports, in name order, every field that is nil (an unset
// interface or pointer prop such as a bucket or a state machine).
func NotNil(fields map[string]any) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if v := fields[name]; v == nil || reflect.ValueOf(v).IsNil() {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	return errors.Join(errs...)
}
