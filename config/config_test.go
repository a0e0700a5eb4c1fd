package config_test

import (
	"strings"
	"testing"

	"github.com/leadbridge/leadbridge/config"
	"github.com/leadbridge/leadbridge/constructs/consumer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExample_ParsesWithTwoConsumers(t *testing.T) {
	d, err := config.Load("")
	require.NoError(t, err)
	require.Len(t, d.Consumers, 2)
	targets := d.ConsumerTargets()
	assert.Equal(t, "leadbridge-sales-inbox-222222222222-eu-west-1", targets[0].BucketName)
	assert.Equal(t, "arn:aws:events:eu-west-1:333333333333:event-bus/leadbridge-partners-handoff", targets[1].EventBusArn)
}

func TestDefaults_AreAppliedToAMinimalConfig(t *testing.T) {
	d, err := config.Parse([]byte(minimal))
	require.NoError(t, err)
	assert.Equal(t, "rate(1days)", d.Producer.Marketo.Schedule)
	assert.Equal(t, "updatedAt", d.Producer.Marketo.IncrementalField)
	assert.Contains(t, d.Producer.Marketo.Fields, "doNotCall")
	assert.Equal(t, "Marketo_Id__c", d.Consumers[0].Salesforce.IdField)
	assert.Equal(t, "Marketo_Id__c", d.Consumers[0].Salesforce.FieldMapping["MarketoId"])
	rules, err := d.Consumers[0].LeadRules("consumers[0]")
	require.NoError(t, err)
	assert.Equal(t, consumer.DefaultLeadRules(), rules)
	assert.Equal(t, 2, *d.Consumers[0].FilterJob.NumberOfWorkers)
	assert.Equal(t, 24, *d.Producer.StaleAfterHours)
	assert.Equal(t, 24, *d.Consumers[0].StaleAfterHours)
	assert.Equal(t, 3, *d.Consumers[0].Salesforce.MaxLoadAttempts)
	assert.Empty(t, d.Consumers[0].AlarmTopicArn)
	assert.Equal(t, []int{365, 90}, []int{*d.Producer.RawRunsRetentionDays, *d.Producer.ReportsRetentionDays})
	c := d.Consumers[0]
	assert.Equal(t, []int{365, 90, 90, 90}, []int{*c.RawRunsRetentionDays, *c.SentRetentionDays, *c.RefusedRetentionDays, *c.ReportsRetentionDays})
}

const minimal = `{
  "producer": {"account": "111111111111", "region": "eu-west-1", "marketo": {"connectorProfile": "m"}},
  "consumers": [{"name": "sales", "account": "222222222222", "region": "eu-west-1", "salesforce": {"connectorProfile": "s"}}]
}`

// withKey is a minimal field mapping whose MarketoId goes to field (JSON-quoted).
func withKey(field string) string {
	return `{"MarketoId": ` + field + `, "LastName": "LastName", "Company": "Company"}`
}

// edit replaces the first occurrence of old in the minimal config.
func edit(old, replacement string) string {
	if !strings.Contains(minimal, old) {
		panic("test config has no " + old)
	}
	return strings.Replace(minimal, old, replacement, 1)
}

func TestParse_RejectsBadConfigurationWithOneLineNamingKeyAndValue(t *testing.T) {
	cases := map[string]struct {
		config string
		want   string
	}{
		"unknown key": {edit(`"region": "eu-west-1", "marketo"`, `"region": "eu-west-1", "shedule": "x", "marketo"`),
			`producer.shedule is not a known key`},
		"unknown nested key": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s", "idFeild": "Email"}`),
			`consumers[0].salesforce.idFeild is not a known key`},
		"missing producer account": {edit(`"account": "111111111111", `, ``), `producer.account is required`},
		"account not 12 digits":    {edit(`"111111111111"`, `"11111"`), `producer.account must be a 12-digit AWS account id, got "11111"`},
		"region not a region":      {edit(`"region": "eu-west-1", "marketo"`, `"region": "europe", "marketo"`), `producer.region must be an AWS region such as eu-west-1, got "europe"`},
		"malformed schedule": {edit(`"connectorProfile": "m"`, `"connectorProfile": "m", "schedule": "rate(1 days)"`),
			`producer.marketo.schedule must look like rate(1days) or rate(6hours), got "rate(1 days)"`},
		"first pull not a date": {edit(`"connectorProfile": "m"`, `"connectorProfile": "m", "firstExecutionFrom": "15.01.2026"`),
			`producer.marketo.firstExecutionFrom must be a date such as 2026-01-15 or a time such as 2026-01-15T08:00:00Z, got "15.01.2026"`},
		"standard upsert field": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s", "idField": "Email"}`),
			`consumers[0].salesforce.idField must be Id or a custom External ID field such as Marketo_Id__c (its API name ends in __c): Salesforce Bulk API 2.0 upserts match records on an External ID field, and no standard Lead field but Id is one, got "Email"`},
		"unmapped upsert field": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s", "idField": "Other_Id__c"}`),
			`consumers[0].salesforce.idField "Other_Id__c" must be one of the mapped Lead fields`},
		"custom field without a length": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s", "idField": "Lead_Key__c", "fieldMapping": `+withKey(`"Lead_Key__c"`)+`}`),
			`consumers[0].salesforce.fieldLengths must give the length of Lead field "Lead_Key__c" (mapped from MarketoId) as set in Salesforce Setup`},
		"field length out of range": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s", "fieldLengths": {"Marketo_Id__c": 0}}`),
			`consumers[0].salesforce.fieldLengths["Marketo_Id__c"] must be a length from 1 to 131072 characters, got 0`},
		"upsert key truncated": {edit(`"salesforce"`, `"rules": {"tooLong": {"MarketoId": "truncate"}}, "salesforce"`),
			`consumers[0].rules.tooLong["MarketoId"] must be drop (the upsert key column is never cut: a cut key could match another lead), got "truncate"`},
		"unknown behaviour": {edit(`"salesforce"`, `"rules": {"tooLong": {"LastName": "shorten"}}, "salesforce"`),
			`consumers[0].rules.tooLong["LastName"] must be drop or truncate, got "shorten"`},
		"length rule on an unmapped column": {edit(`"salesforce"`, `"rules": {"tooLong": {"Email": "drop"}}, "salesforce"`),
			`consumers[0].rules.tooLong key "Email" must be a mapped text column other than Email`},
		"blanking the upsert key": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s", "idField": "Email__c", "fieldLengths": {"Email__c": 80}, "fieldMapping": {"Email": "Email__c", "LastName": "LastName", "Company": "Company"}}, "rules": {"invalidEmail": "blank"}`),
			`consumers[0].rules.invalidEmail must be drop (Email is the upsert key column: a blank key cannot be upserted), got "blank"`},
		"unknown rules key": {edit(`"salesforce"`, `"rules": {"tooShort": {}}, "salesforce"`),
			`consumers[0].rules.tooShort is not a known key`},
		"empty mapping": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s", "fieldMapping": {}}`),
			`consumers[0].salesforce.fieldMapping must map at least one curated column to a Lead field, got none`},
		"mapping of an unknown column": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s", "fieldMapping": {"Phone": "Phone", "MarketoId": "Marketo_Id__c", "LastName": "LastName", "Company": "Company"}}`),
			`consumers[0].salesforce.fieldMapping key "Phone" is not a curated column`},
		"worker count 0": {edit(`"salesforce"`, `"filterJob": {"numberOfWorkers": 0}, "salesforce"`),
			`consumers[0].filterJob.numberOfWorkers must be a whole number from 2 to 299, got 0`},
		"no consumers":   {`{"producer": {"account": "111111111111", "region": "eu-west-1", "marketo": {"connectorProfile": "m"}}, "consumers": []}`, `consumers must list at least one consumer account`},
		"wrong type":     {edit(`"11111111111`, `1`+`1111111111`) + `x`, `config is not valid JSON`},
		"string as list": {edit(`"connectorProfile": "m"`, `"connectorProfile": "m", "fields": "id"`), `producer.marketo.fields must be a list of strings, got a JSON string`},
		"alarm topic not an ARN": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s"}, "alarmTopicArn": "alarms"`),
			`consumers[0].alarmTopicArn must be the ARN of a standard SNS topic such as arn:aws:sns:eu-west-1:123456789012:alarms, got "alarms"`},
		"alarm topic is FIFO": {edit(`"connectorProfile": "m"}`, `"connectorProfile": "m"}, "alarmTopicArn": "arn:aws:sns:eu-west-1:444444444444:alarms.fifo"`),
			`producer.alarmTopicArn must be the ARN of a standard SNS topic`},
		"alarm topic in another region": {edit(`"connectorProfile": "m"}`, `"connectorProfile": "m"}, "alarmTopicArn": "arn:aws:sns:us-east-1:444444444444:alarms"`),
			`producer.alarmTopicArn "arn:aws:sns:us-east-1:444444444444:alarms" is in region us-east-1: alarms can only publish to a topic in their own region eu-west-1`},
		"stale age 0": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s"}, "staleAfterHours": 0`),
			`consumers[0].staleAfterHours must be from 1 to 720, got 0`},
		"retention of no days": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s"}, "sentRetentionDays": 0`),
			`consumers[0].sentRetentionDays must be a whole number of days from 1 to 36500, got 0`},
		"retention of a century and a day": {edit(`"connectorProfile": "m"}`, `"connectorProfile": "m"}, "rawRunsRetentionDays": 36501`),
			`producer.rawRunsRetentionDays must be a whole number of days from 1 to 36500, got 36501`},
		"retention key of an earlier version": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s"}, "archiveRetentionDays": 365`),
			`consumers[0].archiveRetentionDays is not a known key: it is now rawRunsRetentionDays`},
		"no load attempts": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s", "maxLoadAttempts": 0}`),
			`consumers[0].salesforce.maxLoadAttempts must be a whole number from 1 to 10, got 0`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.config))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "\n")+1, "one problem, one line: %q", err.Error())
		})
	}
}

func BenchmarkParse_Example(b *testing.B) {
	for b.Loop() {
		if _, err := config.Parse(config.Example); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParse_NamesTheFullPathWithIndexOfAValueOfTheWrongType(t *testing.T) {
	// GIVEN a second consumer whose worker count is a string
	second := `{"name": "partners", "account": "333333333333", "region": "eu-west-1", "salesforce": {"connectorProfile": "p"}, "filterJob": {"numberOfWorkers": "4"}}`
	cfg := strings.Replace(minimal, `"connectorProfile": "s"}}]`, `"connectorProfile": "s"}}, `+second+`]`, 1)
	// WHEN parsed
	_, err := config.Parse([]byte(cfg))
	// THEN the message names consumers[1], not just "consumers"
	require.Error(t, err)
	assert.Equal(t, `consumers[1].filterJob.numberOfWorkers must be a whole number, got a JSON string`, err.Error())
}

func TestParse_ReadsAFileThatStartsWithAByteOrderMark(t *testing.T) {
	d, err := config.Parse(append([]byte("\xef\xbb\xbf"), minimal...))
	require.NoError(t, err)
	assert.Equal(t, "111111111111", d.Producer.Account)
}
