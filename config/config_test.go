package config_test

import (
	"strings"
	"testing"

	"github.com/leadbridge/leadbridge/config"
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
	assert.Equal(t, "Email", d.Consumers[0].Salesforce.IdField)
	assert.Equal(t, 2, *d.Consumers[0].FilterJob.NumberOfWorkers)
}

const minimal = `{
  "producer": {"account": "111111111111", "region": "eu-west-1", "marketo": {"connectorProfile": "m"}},
  "consumers": [{"name": "sales", "account": "222222222222", "region": "eu-west-1", "salesforce": {"connectorProfile": "s"}}]
}`

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
		"consumer in producer account": {edit(`"222222222222"`, `"111111111111"`),
			`consumers[0].account "111111111111" is the producer's account`},
		"consumer in another region": {edit(`"region": "eu-west-1", "salesforce"`, `"region": "us-east-1", "salesforce"`),
			`consumers[0].region "us-east-1" differs from producer.region "eu-west-1": cross-region hand-off is not supported`},
		"two consumers with one name": {edit(`}}]`, `}}, {"name": "sales", "account": "333333333333", "region": "eu-west-1", "salesforce": {"connectorProfile": "s"}}]`),
			`consumers[1].name "sales" is already used by consumers[0]`},
		"bad id field": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s", "idField": "Phone"}`),
			`consumers[0].salesforce.idField "Phone" must be one of the mapped Lead fields`},
		"empty mapping": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s", "fieldMapping": {}}`),
			`consumers[0].salesforce.fieldMapping must map at least one curated column to a Lead field, got none`},
		"mapping of an unknown column": {edit(`"connectorProfile": "s"}`, `"connectorProfile": "s", "fieldMapping": {"Phone": "Phone", "LastName": "LastName", "Company": "Company", "Email": "Email"}}`),
			`consumers[0].salesforce.fieldMapping key "Phone" is not a curated column`},
		"worker count 0": {edit(`"salesforce"`, `"filterJob": {"numberOfWorkers": 0}, "salesforce"`),
			`consumers[0].filterJob.numberOfWorkers must be a whole number from 2 to 299, got 0`},
		"no consumers":   {`{"producer": {"account": "111111111111", "region": "eu-west-1", "marketo": {"connectorProfile": "m"}}, "consumers": []}`, `consumers must list at least one consumer account`},
		"wrong type":     {edit(`"11111111111`, `1`+`1111111111`) + `x`, `config is not valid JSON`},
		"string as list": {edit(`"connectorProfile": "m"`, `"connectorProfile": "m", "fields": "id"`), `producer.marketo.fields must be a list of strings, got a JSON string`},
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
