package consumer

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/leadbridge/leadbridge/internal/validate"
)

// CuratedColumns are the columns, in order, of the curated CSV the filter job
// writes (glue-scripts/filter_leads.py CURATED_COLUMNS; a test keeps the two
// equal). The Salesforce flow can map only these.
var CuratedColumns = []string{"MarketoId", "FirstName", "LastName", "Email", "Company", "DoNotCall"}

// RequiredLeadFields are the Lead fields Salesforce requires on insert.
var RequiredLeadFields = []string{"LastName", "Company"}

// DefaultLeadFieldMapping maps curated columns to the standard Lead fields.
func DefaultLeadFieldMapping() map[string]string {
	return map[string]string{
		"FirstName": "FirstName",
		"LastName":  "LastName",
		"Email":     "Email",
		"Company":   "Company",
		"DoNotCall": "DoNotCall",
	}
}

var (
	leadFieldPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	workerTypes      = []string{"G.1X", "G.2X", "G.4X", "G.8X"}
)

// ValidateLeadMapping checks a curated-column -> Lead-field mapping and the
// upsert id field; key prefixes every message (".fieldMapping", ".idField").
func ValidateLeadMapping(key string, mapping map[string]string, idField string) error {
	if len(mapping) == 0 {
		return fmt.Errorf("%s.fieldMapping must map at least one curated column to a Lead field, got none", key)
	}
	var errs []error
	targets := map[string]string{}
	for _, column := range slices.Sorted(maps.Keys(mapping)) {
		field := mapping[column]
		if !slices.Contains(CuratedColumns, column) {
			errs = append(errs, fmt.Errorf("%s.fieldMapping key %q is not a curated column (one of %s)", key, column, strings.Join(CuratedColumns, ", ")))
		}
		if !leadFieldPattern.MatchString(field) {
			errs = append(errs, fmt.Errorf("%s.fieldMapping[%q] must be a Salesforce field name such as LastName or Marketo_Id__c, got %q", key, column, field))
		}
		if other, dup := targets[field]; dup {
			errs = append(errs, fmt.Errorf("%s.fieldMapping maps both %q and %q to %q", key, other, column, field))
		}
		targets[field] = column
	}
	for _, required := range RequiredLeadFields {
		if _, ok := targets[required]; !ok {
			errs = append(errs, fmt.Errorf("%s.fieldMapping must map a column to the required Lead field %q", key, required))
		}
	}
	if _, ok := targets[idField]; !ok {
		errs = append(errs, fmt.Errorf("%s.idField %q must be one of the mapped Lead fields (%s)", key, idField, strings.Join(slices.Sorted(maps.Keys(targets)), ", ")))
	}
	return errors.Join(errs...)
}

// ValidateJobSizing checks the Glue job's worker type, count and timeout.
func ValidateJobSizing(key, workerType string, workers, timeoutMinutes float64) error {
	var errs []error
	if !slices.Contains(workerTypes, workerType) {
		errs = append(errs, fmt.Errorf("%s.workerType must be one of %s, got %q", key, strings.Join(workerTypes, ", "), workerType))
	}
	errs = append(errs, validate.Range(key+".numberOfWorkers", workers, 2, 299))
	errs = append(errs, validate.Range(key+".timeoutMinutes", timeoutMinutes, 1, 2880))
	return errors.Join(errs...)
}
