// Package config decodes and validates the one file that describes a
// deployment: the producer account and its Marketo flow, and the consumer
// accounts that receive the leads. Only cmd/ reads it; stacks get typed values.
package config

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/leadbridge/leadbridge/constructs/consumer"
	"github.com/leadbridge/leadbridge/constructs/monitoring"
	"github.com/leadbridge/leadbridge/constructs/producer"
	"github.com/leadbridge/leadbridge/internal/databucket"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/naming"
)

// Example is the configuration shipped with the repository, used when no
// `-c config=` is given so that a fresh clone synthesizes.
//
//go:embed example.json
var Example []byte

// SchemaKey is the one key outside the Go types: it names the JSON Schema
// (schema.json) editors use to complete and check the file.
const SchemaKey = "$schema"

// Deployment is the whole configuration file.
type Deployment struct {
	// Project prefixes every derived name. Default: leadbridge.
	Project   string     `json:"project"`
	Producer  Producer   `json:"producer"`
	Consumers []Consumer `json:"consumers"`
}

// Producer is the marketing account that pulls leads from Marketo.
type Producer struct {
	Account string  `json:"account"`
	Region  string  `json:"region"`
	Marketo Marketo `json:"marketo"`
	// RawRunsRetentionDays is how long a run's files stay in landing/ and
	// archive/. Default: databucket.DefaultRawRunsDays (365).
	RawRunsRetentionDays *int `json:"rawRunsRetentionDays"`
	// ReportsRetentionDays is how long the hand-off's map results stay in
	// map-results/. Default: databucket.DefaultReportsDays (90).
	ReportsRetentionDays *int `json:"reportsRetentionDays"`
	// Encryption of the landing bucket: EncryptionKMS or EncryptionS3Managed.
	// Default: EncryptionKMS.
	Encryption string `json:"encryption"`
	// AlarmEmail receives failed-execution alarms. Default: no subscription.
	AlarmEmail string `json:"alarmEmail"`
	// AlarmTopicArn is an existing SNS topic in the same region, of any
	// account, that every alarm and every alert (rule message) also publishes
	// to; its policy must admit the stack's account (README, "Who gets the
	// alarms"). Default: none (the stack outputs its own topic's ARN).
	AlarmTopicArn string `json:"alarmTopicArn"`
	// StaleAfterHours is the age at which an object under landing/ counts as
	// a run that was never handed off. Default: 24.
	StaleAfterHours *int `json:"staleAfterHours"`
	// FreshnessHours is how long without a successful Marketo pull before an
	// alarm. Default: the schedule's interval plus 2 hours.
	FreshnessHours *int `json:"freshnessHours"`
}

// Marketo describes the AppFlow source.
type Marketo struct {
	ConnectorProfile string   `json:"connectorProfile"`
	Object           string   `json:"object"`
	Schedule         string   `json:"schedule"`
	IncrementalField string   `json:"incrementalField"`
	Fields           []string `json:"fields"`
	// FirstExecutionFrom starts the first incremental pull, e.g. 2026-01-15.
	// Default: AppFlow's, 30 days back from the first run.
	FirstExecutionFrom string `json:"firstExecutionFrom"`
}

// FirstPullFrom is the validated FirstExecutionFrom, nil when not set.
func (m Marketo) FirstPullFrom() *time.Time {
	if m.FirstExecutionFrom == "" {
		return nil
	}
	t, err := producer.ParseFirstExecutionFrom("producer.marketo.firstExecutionFrom", m.FirstExecutionFrom)
	if err != nil {
		panic(err) // Parse validated it
	}
	return &t
}

// Consumer is one sales account that loads the leads into Salesforce.
type Consumer struct {
	Name       string     `json:"name"`
	Account    string     `json:"account"`
	Region     string     `json:"region"`
	Salesforce Salesforce `json:"salesforce"`
	Rules      Rules      `json:"rules"`
	FilterJob  FilterJob  `json:"filterJob"`
	// EventArchiveRetentionDays keeps hand-off events for replay. Default: 30.
	EventArchiveRetentionDays *int `json:"eventArchiveRetentionDays"`
	// RawRunsRetentionDays is how long a run's files stay in inbox/ and
	// archive/. Default: databucket.DefaultRawRunsDays (365).
	RawRunsRetentionDays *int `json:"rawRunsRetentionDays"`
	// SentRetentionDays is how long what was sent to Salesforce stays in
	// curated/, parquet/ and processed/. Default: databucket.DefaultSentDays (90).
	SentRetentionDays *int `json:"sentRetentionDays"`
	// RefusedRetentionDays is how long refused rows stay in rejected/,
	// retry/, quarantine/ and errors/. Default: databucket.DefaultRefusedDays (90).
	RefusedRetentionDays *int `json:"refusedRetentionDays"`
	// ReportsRetentionDays is how long run reports and map results stay in
	// reports/ and map-results/. Default: databucket.DefaultReportsDays (90).
	ReportsRetentionDays *int `json:"reportsRetentionDays"`
	// Encryption of the inbox bucket: EncryptionKMS or EncryptionS3Managed.
	// Default: EncryptionKMS.
	Encryption    string `json:"encryption"`
	AlarmEmail    string `json:"alarmEmail"`
	AlarmTopicArn string `json:"alarmTopicArn"`
	// StaleAfterHours is the age at which an object under inbox/ counts as a
	// run that was never processed. Default: 24.
	StaleAfterHours *int `json:"staleAfterHours"`
	// FreshnessHours is how long without a settled load before an alarm.
	// Default: the producer schedule's interval plus 6 hours.
	FreshnessHours *int `json:"freshnessHours"`
}

// Salesforce describes the AppFlow destination.
type Salesforce struct {
	ConnectorProfile string `json:"connectorProfile"`
	// IdField is the Lead field AppFlow upserts on: Id or a custom External ID
	// field. Default: consumer.DefaultUpsertField (Marketo_Id__c).
	IdField string `json:"idField"`
	// FieldMapping maps curated columns to Lead fields. Default: consumer.DefaultLeadFieldMapping.
	FieldMapping map[string]string `json:"fieldMapping"`
	// FieldLengths gives the length (characters) of every mapped Lead text
	// field without a built-in one (consumer.StandardLeadFieldLengths), such as
	// custom fields. Entries are added to consumer.DefaultCustomFieldLengths.
	FieldLengths map[string]int `json:"fieldLengths"`
	// MaxLoadAttempts is how many loads may refuse a row before it is
	// quarantined instead of retried. Default: consumer.DefaultMaxLoadAttempts (3).
	MaxLoadAttempts *int `json:"maxLoadAttempts"`
}

// Rules chooses, per rule, what the filter job does with a row Salesforce would
// refuse (consumer.RuleBehaviours; defaults there).
type Rules struct {
	// TooLong maps a curated text column (not Email) to "drop" or "truncate".
	TooLong map[string]string `json:"tooLong"`
	// InvalidEmail is "drop" or "blank".
	InvalidEmail string `json:"invalidEmail"`
}

// FilterJob sizes the Glue job.
type FilterJob struct {
	WorkerType      string `json:"workerType"`
	NumberOfWorkers *int   `json:"numberOfWorkers"`
	TimeoutMinutes  *int   `json:"timeoutMinutes"`
}

var (
	emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	// A standard (not FIFO) topic: CloudWatch alarm actions cannot publish to FIFO topics.
	topicArnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}$`)
)

// Load reads and validates a configuration file; an empty path means Example.
func Load(path string) (*Deployment, error) {
	if path == "" {
		return Parse(Example)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data)
}

// Parse decodes strictly, applies defaults and validates. Every problem found
// is reported, one per line, each naming the key and the bad value.
func Parse(data []byte) (*Deployment, error) {
	data = withoutBOM(data)
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("config is not valid JSON: %w", err)
	}
	if problems := unknownKeys(raw, deploymentKeys, ""); len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if err := checkTypes(raw); err != nil {
		return nil, err
	}
	var d Deployment
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, fmt.Errorf("%s must be %s, got a JSON %s", typeErr.Field, describeType(typeErr.Type), typeErr.Value)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	d.applyDefaults()
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

func (d *Deployment) applyDefaults() {
	setDefault(&d.Project, naming.DefaultProject)
	m := &d.Producer.Marketo
	setDefault(&m.Object, "leads")
	setDefault(&m.Schedule, "rate(1days)")
	setDefault(&m.IncrementalField, "updatedAt")
	if m.Fields == nil {
		m.Fields = append([]string(nil), producer.DefaultMarketoFields...)
	}
	setDefaultInt(&d.Producer.RawRunsRetentionDays, databucket.DefaultRawRunsDays)
	setDefaultInt(&d.Producer.ReportsRetentionDays, databucket.DefaultReportsDays)
	setDefault(&d.Producer.Encryption, EncryptionKMS)
	setDefaultInt(&d.Producer.StaleAfterHours, 24)
	scheduleHours := validate.ScheduleHours(m.Schedule)
	setDefaultInt(&d.Producer.FreshnessHours, scheduleHours+producerFreshnessMargin)
	for i := range d.Consumers {
		c := &d.Consumers[i]
		setDefault(&c.Salesforce.IdField, consumer.DefaultUpsertField)
		if c.Salesforce.FieldMapping == nil {
			c.Salesforce.FieldMapping = consumer.DefaultLeadFieldMapping()
		}
		lengths := consumer.DefaultCustomFieldLengths()
		maps.Copy(lengths, c.Salesforce.FieldLengths)
		c.Salesforce.FieldLengths = lengths
		setDefault(&c.FilterJob.WorkerType, "G.1X")
		setDefaultInt(&c.FilterJob.NumberOfWorkers, 2)
		setDefaultInt(&c.FilterJob.TimeoutMinutes, 60)
		setDefaultInt(&c.EventArchiveRetentionDays, 30)
		setDefaultInt(&c.RawRunsRetentionDays, databucket.DefaultRawRunsDays)
		setDefaultInt(&c.SentRetentionDays, databucket.DefaultSentDays)
		setDefaultInt(&c.RefusedRetentionDays, databucket.DefaultRefusedDays)
		setDefaultInt(&c.ReportsRetentionDays, databucket.DefaultReportsDays)
		setDefault(&c.Encryption, EncryptionKMS)
		setDefaultInt(&c.StaleAfterHours, 24)
		setDefaultInt(&c.FreshnessHours, scheduleHours+consumerFreshnessMargin)
		setDefaultInt(&c.Salesforce.MaxLoadAttempts, consumer.DefaultMaxLoadAttempts)
	}
}

// Validate checks every rule; keys are named as they are in the file.
func (d *Deployment) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(validate.Project("project", d.Project))
	p := d.Producer
	add(validate.Required("producer.account", p.Account))
	if p.Account != "" {
		add(validate.Account("producer.account", p.Account))
	}
	add(validate.Required("producer.region", p.Region))
	if p.Region != "" {
		add(validate.Region("producer.region", p.Region))
	}
	add(validate.Required("producer.marketo.connectorProfile", p.Marketo.ConnectorProfile))
	add(validate.Schedule("producer.marketo.schedule", p.Marketo.Schedule))
	add(producer.ValidateMarketoFields("producer.marketo.fields", p.Marketo.Fields, p.Marketo.IncrementalField))
	if p.Marketo.FirstExecutionFrom != "" {
		_, err := producer.ParseFirstExecutionFrom("producer.marketo.firstExecutionFrom", p.Marketo.FirstExecutionFrom)
		add(err)
	}
	add(retentionDays("producer.rawRunsRetentionDays", p.RawRunsRetentionDays))
	add(retentionDays("producer.reportsRetentionDays", p.ReportsRetentionDays))
	add(encryption("producer.encryption", p.Encryption))
	add(email("producer.alarmEmail", p.AlarmEmail))
	add(topicArn("producer.alarmTopicArn", p.AlarmTopicArn, p.Region))
	add(staleAfter("producer.staleAfterHours", p.StaleAfterHours))
	add(freshness("producer.freshnessHours", p.FreshnessHours, p.Marketo.Schedule))

	if len(d.Consumers) == 0 {
		add(errors.New("consumers must list at least one consumer account"))
	}
	// What relates the two sides (a consumer in the producer's account or
	// region, one name twice) the pattern constructs check, for an app with
	// or without this file.
	for i, c := range d.Consumers {
		key := fmt.Sprintf("consumers[%d]", i)
		add(validate.Required(key+".name", c.Name))
		if c.Name != "" {
			add(validate.ConsumerName(key+".name", c.Name))
		}
		add(validate.Required(key+".account", c.Account))
		if c.Account != "" {
			add(validate.Account(key+".account", c.Account))
		}
		add(validate.Required(key+".region", c.Region))
		if c.Region != "" {
			add(validate.Region(key+".region", c.Region))
		}
		add(validate.Required(key+".salesforce.connectorProfile", c.Salesforce.ConnectorProfile))
		if err := consumer.ValidateLeadMapping(key+".salesforce", c.Salesforce.FieldMapping, c.Salesforce.IdField); err != nil {
			add(err)
		} else {
			_, err := c.LeadRules(key)
			add(err)
		}
		add(consumer.ValidateJobSizing(key+".filterJob", c.FilterJob.WorkerType, float64(*c.FilterJob.NumberOfWorkers), float64(*c.FilterJob.TimeoutMinutes)))
		add(positive(key+".eventArchiveRetentionDays", c.EventArchiveRetentionDays))
		add(retentionDays(key+".rawRunsRetentionDays", c.RawRunsRetentionDays))
		add(retentionDays(key+".sentRetentionDays", c.SentRetentionDays))
		add(retentionDays(key+".refusedRetentionDays", c.RefusedRetentionDays))
		add(retentionDays(key+".reportsRetentionDays", c.ReportsRetentionDays))
		add(encryption(key+".encryption", c.Encryption))
		add(email(key+".alarmEmail", c.AlarmEmail))
		add(topicArn(key+".alarmTopicArn", c.AlarmTopicArn, c.Region))
		add(staleAfter(key+".staleAfterHours", c.StaleAfterHours))
		add(freshness(key+".freshnessHours", c.FreshnessHours, p.Marketo.Schedule))
		add(consumer.ValidateMaxLoadAttempts(key+".salesforce.maxLoadAttempts", float64(*c.Salesforce.MaxLoadAttempts)))
	}
	return errors.Join(errs...)
}

// LeadRules derives the filter job's rules from the consumer's mapping, upsert
// field, field lengths and rule choices; key prefixes every message.
func (c *Consumer) LeadRules(key string) (consumer.LeadRules, error) {
	s := c.Salesforce
	return consumer.NewLeadRules(key, s.FieldMapping, s.IdField, s.FieldLengths,
		consumer.RuleBehaviours{TooLong: c.Rules.TooLong, InvalidEmail: c.Rules.InvalidEmail})
}

// ConsumerTargets derives, from the same naming functions the consumer stacks
// use, what the producer needs to reach each consumer.
func (d *Deployment) ConsumerTargets() []*producer.ConsumerTarget {
	targets := make([]*producer.ConsumerTarget, 0, len(d.Consumers))
	for _, c := range d.Consumers {
		targets = append(targets, producer.NewConsumerTarget(d.Project, c.Name, c.Account, c.Region))
	}
	return targets
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "an "), "a ") + "s"
	case reflect.Map:
		return "an object"
	case reflect.Int:
		return "a whole number"
	default:
		return "a " + t.Kind().String()
	}
}

func setDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// setDefaultInt fills an absent number; an explicit 0 stays, to be rejected.
func setDefaultInt(n **int, v int) {
	if *n == nil {
		*n = &v
	}
}

func positive(key string, n *int) error {
	if *n < 1 {
		return fmt.Errorf("%s must be at least 1, got %d", key, *n)
	}
	return nil
}

// retentionDays checks a retention key as the bucket constructs check their props.
func retentionDays(key string, days *int) error {
	return databucket.ValidateRetentionDays(key, float64(*days))
}

// Values of the encryption keys: a customer-managed KMS key of the bucket's
// own (the default), or SSE-S3.
const (
	EncryptionKMS       = "kms"
	EncryptionS3Managed = "sse-s3"
)

func encryption(key, value string) error {
	if value != EncryptionKMS && value != EncryptionS3Managed {
		return fmt.Errorf("%s must be %s or %s, got %q", key, EncryptionKMS, EncryptionS3Managed, value)
	}
	return nil
}

// S3Managed reports whether a bucket's encryption key value asks for SSE-S3.
func S3Managed(encryption string) *bool {
	s3 := encryption == EncryptionS3Managed
	return &s3
}

func email(key, value string) error {
	if value == "" || emailPattern.MatchString(value) {
		return nil
	}
	return fmt.Errorf("%s must be an email address, got %q", key, value)
}

// topicArn accepts an empty value or a standard SNS topic ARN in region:
// an alarm action must be in the alarm's region.
func topicArn(key, value, region string) error {
	if value == "" {
		return nil
	}
	m := topicArnPattern.FindStringSubmatch(value)
	if m == nil {
		return fmt.Errorf("%s must be the ARN of a standard SNS topic such as arn:aws:sns:%s:123456789012:alarms, got %q", key, region, value)
	}
	if region != "" && m[1] != region {
		return fmt.Errorf("%s %q is in region %s: alarms can only publish to a topic in their own region %s", key, value, m[1], region)
	}
	return nil
}

// staleAfter bounds the age of a run that counts as missed: not before the
// slowest run could have finished (hours), not past the 30 days a landed
// object is worth looking for.
func staleAfter(key string, hours *int) error {
	if *hours < 1 || *hours > 720 {
		return fmt.Errorf("%s must be from 1 to 720, got %d", key, *hours)
	}
	return nil
}

// Margins of the default freshness windows over the schedule: a pull takes
// minutes; a load waits for the hand-off, the lock, the job and Salesforce.
const (
	producerFreshnessMargin = 2
	consumerFreshnessMargin = 6
)

// freshness bounds a freshness window: longer than the schedule's interval
// (or every gap between runs alarms), at most the 7 days an alarm evaluates.
func freshness(key string, hours *int, schedule string) error {
	interval := validate.ScheduleHours(schedule)
	if *hours <= interval || *hours > monitoring.MaxFreshnessHours {
		return fmt.Errorf("%s must be more than the schedule's %d hours and at most %d, got %d", key, interval, monitoring.MaxFreshnessHours, *hours)
	}
	return nil
}

// keySet describes the keys a JSON object may have; a nil value means the
// key holds a scalar, a list of scalars, or a free-form map.
type keySet map[string]keySet

// listMarker, as the only key of a keySet, marks a list of objects with the given keys.
const listMarker = "[]"

var (
	marketoKeys    = keySet{"connectorProfile": nil, "object": nil, "schedule": nil, "incrementalField": nil, "fields": nil, "firstExecutionFrom": nil}
	salesforceKeys = keySet{"connectorProfile": nil, "idField": nil, "fieldMapping": nil, "fieldLengths": nil, "maxLoadAttempts": nil}
	rulesKeys      = keySet{"tooLong": nil, "invalidEmail": nil}
	filterJobKeys  = keySet{"workerType": nil, "numberOfWorkers": nil, "timeoutMinutes": nil}
	producerKeys   = keySet{"account": nil, "region": nil, "marketo": marketoKeys, "rawRunsRetentionDays": nil, "reportsRetentionDays": nil,
		"encryption": nil, "alarmEmail": nil, "alarmTopicArn": nil, "staleAfterHours": nil, "freshnessHours": nil}
	consumerKeys = keySet{
		"name": nil, "account": nil, "region": nil, "salesforce": salesforceKeys, "rules": rulesKeys, "filterJob": filterJobKeys,
		"eventArchiveRetentionDays": nil, "rawRunsRetentionDays": nil, "sentRetentionDays": nil, "refusedRetentionDays": nil,
		"reportsRetentionDays": nil, "encryption": nil, "alarmEmail": nil, "alarmTopicArn": nil, "staleAfterHours": nil, "freshnessHours": nil,
	}
	deploymentKeys = keySet{SchemaKey: nil, "project": nil, "producer": producerKeys, "consumers": keySet{listMarker: consumerKeys}}
)

// renamedKeys are keys of earlier versions, with what replaced them, so that
// an existing file is told what to change.
var renamedKeys = map[string]string{
	"archiveRetentionDays": "rawRunsRetentionDays (landing/ or inbox/ and archive/; see the README's Personal data section)",
}

// unknownKeys walks the decoded JSON against the allowed keys, so a typo is
// reported with its full path instead of being silently ignored.
func unknownKeys(value any, allowed keySet, path string) []error {
	if allowed == nil {
		return nil
	}
	if itemKeys, isList := allowed[listMarker]; isList {
		items, ok := value.([]any)
		if !ok {
			return []error{fmt.Errorf("%s must be a list", path)}
		}
		var errs []error
		for i, item := range items {
			errs = append(errs, unknownKeys(item, itemKeys, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	}
	object, ok := value.(map[string]any)
	if !ok {
		if path == "" {
			return []error{errors.New("config must be a JSON object")}
		}
		return []error{fmt.Errorf("%s must be an object", path)}
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(object)) {
		full := strings.TrimPrefix(path+"."+k, ".")
		sub, known := allowed[k]
		if now, renamed := renamedKeys[k]; !known && renamed {
			errs = append(errs, fmt.Errorf("%s is not a known key: it is now %s", full, now))
			continue
		}
		if !known {
			errs = append(errs, fmt.Errorf("%s is not a known key (known: %s)", full, knownList(allowed)))
			continue
		}
		errs = append(errs, unknownKeys(object[k], sub, full)...)
	}
	return errs
}

func knownList(allowed keySet) string {
	return strings.Join(slices.Sorted(maps.Keys(allowed)), ", ")
}
