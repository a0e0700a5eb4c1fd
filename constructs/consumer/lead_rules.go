package consumer

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// What a field rule does with a row that breaks it (FilterJob's --lead_rules).
const (
	// RuleDrop drops the row with a reason code, counted in the run report.
	RuleDrop = "drop"
	// RuleTruncate cuts a text value to the Lead field's length.
	RuleTruncate = "truncate"
	// RuleBlank empties an invalid optional e-mail address.
	RuleBlank = "blank"
)

// StandardLeadFieldLengths are the lengths, in characters, of the standard Lead
// text fields a curated column may be mapped to (Salesforce Field Reference,
// "Lead": https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-lead.html).
// A custom or other field needs its length in configuration.
var StandardLeadFieldLengths = map[string]int{
	"FirstName": 40,
	"LastName":  80,
	"Company":   255,
	"Email":     80,
}

// DefaultCustomFieldLengths gives the length of the default upsert field, as
// the README asks the Salesforce admin to create it (Text(80), Unique, External ID).
func DefaultCustomFieldLengths() map[string]int {
	return map[string]int{DefaultUpsertField: 80}
}

// textColumns are the curated columns that hold text; DoNotCall is boolean.
var textColumns = []string{"MarketoId", "FirstName", "LastName", "Email", "Company"}

// LeadRules is what the filter job checks every row against before the load,
// rendered as its --lead_rules argument. Build it with NewLeadRules.
type LeadRules struct {
	// UpsertKeyColumn is the curated column mapped to the flow's upsert field.
	UpsertKeyColumn string `json:"upsertKeyColumn"`
	// MaxLengths maps each mapped text column to its Lead field's length.
	MaxLengths map[string]int `json:"maxLengths"`
	// TooLong maps each MaxLengths column but Email to RuleDrop or RuleTruncate.
	TooLong map[string]string `json:"tooLong"`
	// InvalidEmail is RuleDrop or RuleBlank.
	InvalidEmail string `json:"invalidEmail"`
}

// RuleBehaviours is a consumer's choice per rule; empty means the default.
type RuleBehaviours struct {
	// TooLong maps a curated text column (not Email) to RuleDrop or RuleTruncate.
	// Default: truncate, except drop for the upsert key column.
	TooLong map[string]string
	// InvalidEmail is RuleDrop or RuleBlank.
	// Default: blank, or drop when Email is the upsert key column.
	InvalidEmail string
}

// NewLeadRules derives the job's rules from the flow's mapping (curated column
// -> Lead field), its upsert field, the lengths of non-standard fields and the
// consumer's choices. Messages name key+".salesforce.fieldLengths" and
// key+".rules"; the mapping itself is checked by ValidateLeadMapping.
func NewLeadRules(key string, mapping map[string]string, idField string, fieldLengths map[string]int, choices RuleBehaviours) (LeadRules, error) {
	rules := LeadRules{MaxLengths: map[string]int{}, TooLong: map[string]string{}, InvalidEmail: choices.InvalidEmail}
	var errs []error
	for _, column := range slices.Sorted(maps.Keys(mapping)) {
		field := mapping[column]
		if field == idField {
			rules.UpsertKeyColumn = column
		}
		if !slices.Contains(textColumns, column) {
			continue
		}
		length, given := fieldLengths[field]
		if !given {
			length, given = StandardLeadFieldLengths[field]
		}
		switch {
		case !given:
			errs = append(errs, fmt.Errorf("%s.salesforce.fieldLengths must give the length of Lead field %q (mapped from %s) as set in Salesforce Setup: only %s have built-in lengths", key, field, column, strings.Join(slices.Sorted(maps.Keys(StandardLeadFieldLengths)), ", ")))
		case length < 1 || length > maxTextFieldLength:
			errs = append(errs, fmt.Errorf("%s.salesforce.fieldLengths[%q] must be a length from 1 to %d characters, got %d", key, field, maxTextFieldLength, length))
		}
		rules.MaxLengths[column] = length
	}
	for _, column := range slices.Sorted(maps.Keys(rules.MaxLengths)) {
		if column == "Email" {
			continue
		}
		rules.TooLong[column] = cmp.Or(choices.TooLong[column], defaultTooLong(column, rules.UpsertKeyColumn))
	}
	rules.InvalidEmail = cmp.Or(rules.InvalidEmail, defaultInvalidEmail(rules.UpsertKeyColumn))
	for _, column := range slices.Sorted(maps.Keys(choices.TooLong)) {
		if _, mapped := rules.MaxLengths[column]; !mapped || column == "Email" {
			errs = append(errs, fmt.Errorf("%s.rules.tooLong key %q must be a mapped text column other than Email (one of %s)", key, column, strings.Join(slices.Sorted(maps.Keys(rules.TooLong)), ", ")))
		}
	}
	if len(errs) > 0 || rules.UpsertKeyColumn == "" {
		// Said in the configuration's terms already, or (an unmapped upsert
		// field) by ValidateLeadMapping: say each problem once.
		return rules, errors.Join(errs...)
	}
	return rules, rules.validate(key + ".rules")
}

// defaultTooLong truncates, except the upsert key column, which is never cut.
func defaultTooLong(column, keyColumn string) string {
	if column == keyColumn {
		return RuleDrop
	}
	return RuleTruncate
}

// defaultInvalidEmail blanks an optional address, but drops a row whose key it is.
func defaultInvalidEmail(keyColumn string) string {
	if keyColumn == "Email" {
		return RuleDrop
	}
	return RuleBlank
}

// maxTextFieldLength is the longest Salesforce Long Text Area (131,072 characters).
const maxTextFieldLength = 131072

// validate checks the columns, lengths and behaviours. The upsert key is never
// repaired, since a cut or blanked key could match another lead's record.
func (r LeadRules) validate(key string) error {
	var errs []error
	for _, column := range slices.Sorted(maps.Keys(r.MaxLengths)) {
		if !slices.Contains(textColumns, column) {
			errs = append(errs, fmt.Errorf("%s.maxLengths key %q must be a curated text column (one of %s)", key, column, strings.Join(textColumns, ", ")))
		}
		if n := r.MaxLengths[column]; n < 1 || n > maxTextFieldLength {
			errs = append(errs, fmt.Errorf("%s.maxLengths[%q] must be from 1 to %d characters, got %d", key, column, maxTextFieldLength, n))
		}
		if _, ok := r.TooLong[column]; !ok && column != "Email" {
			errs = append(errs, fmt.Errorf("%s.tooLong must give a behaviour for %q", key, column))
		}
	}
	if _, mapped := r.MaxLengths[r.UpsertKeyColumn]; !mapped {
		errs = append(errs, fmt.Errorf("%s: the upsert field must be mapped from a text column (one of %s), got %q", key, strings.Join(textColumns, ", "), r.UpsertKeyColumn))
	}
	for _, column := range slices.Sorted(maps.Keys(r.TooLong)) {
		if _, ok := r.MaxLengths[column]; !ok || column == "Email" {
			errs = append(errs, fmt.Errorf("%s.tooLong key %q must be a column of maxLengths other than Email", key, column))
			continue
		}
		allowed := []string{RuleDrop, RuleTruncate}
		why := ""
		if column == r.UpsertKeyColumn {
			allowed, why = []string{RuleDrop}, " (the upsert key column is never cut: a cut key could match another lead)"
		}
		if !slices.Contains(allowed, r.TooLong[column]) {
			errs = append(errs, fmt.Errorf("%s.tooLong[%q] must be %s%s, got %q", key, column, strings.Join(allowed, " or "), why, r.TooLong[column]))
		}
	}
	allowed, why := []string{RuleDrop, RuleBlank}, ""
	if r.UpsertKeyColumn == "Email" {
		allowed, why = []string{RuleDrop}, " (Email is the upsert key column: a blank key cannot be upserted)"
	}
	if !slices.Contains(allowed, r.InvalidEmail) {
		errs = append(errs, fmt.Errorf("%s.invalidEmail must be %s%s, got %q", key, strings.Join(allowed, " or "), why, r.InvalidEmail))
	}
	return errors.Join(errs...)
}

// DefaultLeadRules are the rules for DefaultLeadFieldMapping and DefaultUpsertField.
func DefaultLeadRules() LeadRules {
	rules, err := NewLeadRules("default", DefaultLeadFieldMapping(), DefaultUpsertField, DefaultCustomFieldLengths(), RuleBehaviours{})
	if err != nil {
		panic(err) // the defaults are fixed: a test proves they are valid
	}
	return rules
}

// argument renders the rules as the job's --lead_rules value (keys sorted, so
// the template is stable).
func (r LeadRules) argument() string {
	out, err := json.Marshal(r)
	if err != nil {
		panic(err) // maps of strings and ints always marshal
	}
	return string(out)
}
