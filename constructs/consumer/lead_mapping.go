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

// DefaultUpsertField is the Lead field AppFlow upserts on by default: a custom
// External ID field the Salesforce admin creates (README, "Salesforce side").
// AppFlow writes through Bulk API 2.0, where "upserting records requires an
// external ID field on the object" (Bulk API 2.0 developer guide, bulk upsert
// walkthrough); no standard Lead field but Id is one, so Email cannot be the key.
const DefaultUpsertField = "Marketo_Id__c"

// DefaultLeadFieldMapping maps curated columns to the standard Lead fields and
// the Marketo id to the default upsert field.
func DefaultLeadFieldMapping() map[string]string {
	return map[string]string{
		"MarketoId": DefaultUpsertField,
		"FirstName": "FirstName",
		"LastName":  "LastName",
		"Email":     "Email",
		"Company":   "Company",
		"DoNotCall": "DoNotCall",
	}
}

var (
	leadFieldPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	// A custom field's API name ends in __c (with or without a namespace prefix).
	customFieldPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*__c$`)
	workerTypes        = []string{"G.1X", "G.2X", "G.4X", "G.8X"}
)

// ValidateLeadMapping checks a curated-column -> Lead-field mapping and the
// upsert id field; key prefixes every message (".fieldMapping", ".idField").
// A custom upsert field must also be created in Salesforce as Unique and
// External ID, which only Salesforce can check.
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
	if err := ValidateUpsertField(key+".idField", idField); err != nil {
		errs = append(errs, err)
	} else if _, ok := targets[idField]; !ok {
		errs = append(errs, fmt.Errorf("%s.idField %q must be one of the mapped Lead fields (%s)", key, idField, strings.Join(slices.Sorted(maps.Keys(targets)), ", ")))
	}
	return errors.Join(errs...)
}

// ValidateUpsertField accepts Id or a custom field: Bulk API 2.0 upserts match
// on the record Id or an External ID field, and only custom fields can be
// External IDs on Lead.
func ValidateUpsertField(key, field string) error {
	if field == "Id" || customFieldPattern.MatchString(field) {
		return nil
	}
	return fmt.Errorf("%s must be Id or a custom External ID field such as %s (its API name ends in __c): Salesforce Bulk API 2.0 upserts match records on an External ID field, and no standard Lead field but Id is one, got %q", key, DefaultUpsertField, field)
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
