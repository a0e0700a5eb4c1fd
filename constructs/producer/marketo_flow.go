package producer

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsappflow"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/appflowtasks"
	"github.com/leadbridge/leadbridge/internal/validate"
)

// DefaultMarketoFields are the Marketo lead fields pulled when none are
// configured: what the filter job and the Salesforce mapping need.
var DefaultMarketoFields = []string{
	"id", "email", "firstName", "lastName", "company", "createdAt", "updatedAt", "doNotCall", "doNotCallReason",
}

// FieldsRequiredByFilterJob must always be pulled: the Glue job keys on id,
// de-duplicates on updatedAt and drops leads by doNotCall.
var FieldsRequiredByFilterJob = []string{"id", "updatedAt", "doNotCall"}

var fieldNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// MarketoFlowProps configures a MarketoFlow.
type MarketoFlowProps struct {
	// FlowName names the flow; the completion rule matches it.
	FlowName *string
	// ConnectorProfileName is the Marketo connection made once, by a person, in AppFlow.
	ConnectorProfileName *string
	// Bucket receives the Parquet files under LandingPrefix.
	Bucket awss3.IBucket
	// Object is the Marketo object to pull.
	// Default: - leads.
	Object *string
	// Schedule is an AppFlow rate expression, without spaces.
	// Default: - rate(1days).
	Schedule *string
	// IncrementalField is the timestamp field an incremental pull filters on.
	// Default: - updatedAt.
	IncrementalField *string
	// Fields are the Marketo fields to pull; it must include id, updatedAt and doNotCall.
	// Default: - DefaultMarketoFields.
	Fields *[]*string
	// FirstExecutionFrom is where the first incremental pull starts: leads
	// updated since then. Marketo serves at most 31 days per extract (see the
	// README's backfill procedure for older leads).
	// Default: - AppFlow's own: 30 days back from the first run (cdklabs/cdk-appflow,
	// src/core/flows/flow-base.ts, ScheduleProperties.firstExecutionFrom).
	FirstExecutionFrom *time.Time
}

// MarketoFlow pulls Marketo leads incrementally, on a schedule, into the
// landing bucket as Parquet.
type MarketoFlow struct {
	constructs.Construct
	// Flow is the AppFlow flow, active on deploy.
	Flow awsappflow.CfnFlow
	// FlowName is the name the completion rule matches.
	FlowName *string
}

func (p *MarketoFlowProps) withDefaults() MarketoFlowProps {
	out := *p
	if out.Object == nil {
		out.Object = jsii.String("leads")
	}
	if out.Schedule == nil {
		out.Schedule = jsii.String("rate(1days)")
	}
	if out.IncrementalField == nil {
		out.IncrementalField = jsii.String("updatedAt")
	}
	if out.Fields == nil {
		out.Fields = jsii.Strings(DefaultMarketoFields...)
	}
	return out
}

func (p *MarketoFlowProps) validate() error {
	return errors.Join(
		validate.RequiredStrings(map[string]*string{"FlowName": p.FlowName, "ConnectorProfileName": p.ConnectorProfileName}),
		validate.NotNil(map[string]any{"Bucket": p.Bucket}),
		validate.Schedule("Schedule", *p.Schedule),
		validateFirstExecutionFrom("FirstExecutionFrom", p.FirstExecutionFrom),
		ValidateMarketoFields("Fields", derefAll(*p.Fields), *p.IncrementalField))
}

// ParseFirstExecutionFrom reads a configured start of the first pull: a date
// (UTC midnight) such as 2026-01-15, or a time such as 2026-01-15T08:00:00Z.
func ParseFirstExecutionFrom(key, value string) (time.Time, error) {
	for _, layout := range []string{time.DateOnly, time.RFC3339} {
		if t, err := time.Parse(layout, value); err == nil {
			return t, validateFirstExecutionFrom(key, &t)
		}
	}
	return time.Time{}, fmt.Errorf("%s must be a date such as 2026-01-15 or a time such as 2026-01-15T08:00:00Z, got %q", key, value)
}

// validateFirstExecutionFrom refuses times AppFlow cannot take: it counts
// FirstExecutionFrom in whole seconds since 1970 (CloudFormation
// AWS::AppFlow::Flow ScheduledTriggerProperties).
func validateFirstExecutionFrom(key string, t *time.Time) error {
	if t != nil && t.Unix() <= 0 {
		return fmt.Errorf("%s must be after 1970-01-01, got %s", key, t.Format(time.RFC3339))
	}
	return nil
}

// ValidateMarketoFields checks a field list: not empty, no duplicates, plain
// names, and the fields the rest of the pipeline depends on.
func ValidateMarketoFields(key string, fields []string, incrementalField string) error {
	if len(fields) == 0 {
		return fmt.Errorf("%s must list at least one Marketo field, got none", key)
	}
	var errs []error
	seen := map[string]bool{}
	for i, f := range fields {
		if !fieldNamePattern.MatchString(f) {
			errs = append(errs, fmt.Errorf("%s[%d] must be a Marketo field name such as firstName, got %q", key, i, f))
		}
		if seen[f] {
			errs = append(errs, fmt.Errorf("%s[%d] %q is listed twice", key, i, f))
		}
		seen[f] = true
	}
	required := append(slices.Clone(FieldsRequiredByFilterJob), incrementalField)
	for _, r := range required {
		if !seen[r] {
			errs = append(errs, fmt.Errorf("%s must include %q, got [%s]", key, r, strings.Join(fields, ", ")))
		}
	}
	return errors.Join(errs...)
}

// NewMarketoFlow creates the flow.
func NewMarketoFlow(scope constructs.Construct, id *string, props *MarketoFlowProps) *MarketoFlow {
	if props == nil {
		props = &MarketoFlowProps{}
	}
	p := props.withDefaults()
	validate.Must("MarketoFlow", p.validate())
	this := constructs.NewConstruct(scope, id)

	// Map each field through unchanged, so the Parquet columns keep Marketo's names.
	var fields []appflowtasks.Field
	for _, f := range derefAll(*p.Fields) {
		fields = append(fields, appflowtasks.Field{Source: f, Destination: f})
	}
	tasks := appflowtasks.ProjectAndMap(func(op string) *awsappflow.CfnFlow_ConnectorOperatorProperty {
		return &awsappflow.CfnFlow_ConnectorOperatorProperty{Marketo: jsii.String(op)}
	}, fields)

	flow := awsappflow.NewCfnFlow(this, jsii.String("Flow"), &awsappflow.CfnFlowProps{
		FlowName:    p.FlowName,
		Description: jsii.String("Pulls Marketo leads incrementally into the landing bucket as Parquet."),
		FlowStatus:  jsii.String("Active"),
		TriggerConfig: &awsappflow.CfnFlow_TriggerConfigProperty{
			TriggerType: jsii.String("Scheduled"),
			TriggerProperties: &awsappflow.CfnFlow_ScheduledTriggerPropertiesProperty{
				ScheduleExpression: p.Schedule,
				DataPullMode:       jsii.String("Incremental"),
				TimeZone:           jsii.String("UTC"),
				FirstExecutionFrom: epochSeconds(p.FirstExecutionFrom),
			},
		},
		SourceFlowConfig: &awsappflow.CfnFlow_SourceFlowConfigProperty{
			ConnectorType:        jsii.String("Marketo"),
			ConnectorProfileName: p.ConnectorProfileName,
			SourceConnectorProperties: &awsappflow.CfnFlow_SourceConnectorPropertiesProperty{
				Marketo: &awsappflow.CfnFlow_MarketoSourcePropertiesProperty{Object: p.Object},
			},
			IncrementalPullConfig: &awsappflow.CfnFlow_IncrementalPullConfigProperty{
				DatetimeTypeFieldName: p.IncrementalField,
			},
		},
		DestinationFlowConfigList: &[]interface{}{&awsappflow.CfnFlow_DestinationFlowConfigProperty{
			ConnectorType: jsii.String("S3"),
			DestinationConnectorProperties: &awsappflow.CfnFlow_DestinationConnectorPropertiesProperty{
				S3: &awsappflow.CfnFlow_S3DestinationPropertiesProperty{
					BucketName:   p.Bucket.BucketName(),
					BucketPrefix: jsii.String(strings.TrimSuffix(LandingPrefix, "/")),
					S3OutputFormatConfig: &awsappflow.CfnFlow_S3OutputFormatConfigProperty{
						FileType:                 jsii.String("PARQUET"),
						PreserveSourceDataTyping: jsii.Bool(true),
						AggregationConfig:        &awsappflow.CfnFlow_AggregationConfigProperty{AggregationType: jsii.String("None")},
						// Each run in its own folder: landing/<flow name>/<execution id>/.
						PrefixConfig: &awsappflow.CfnFlow_PrefixConfigProperty{
							PathPrefixHierarchy: jsii.Strings("EXECUTION_ID"),
						},
					},
				},
			},
		}},
		Tasks: tasks,
	})
	// AppFlow checks its access to the bucket when the flow is created.
	if b, ok := p.Bucket.(awss3.Bucket); ok && b.Policy() != nil {
		flow.Node().AddDependency(b.Policy())
	}
	return &MarketoFlow{Construct: this, Flow: flow, FlowName: p.FlowName}
}

// epochSeconds is how AppFlow takes a time; nil stays unset.
func epochSeconds(t *time.Time) *float64 {
	if t == nil {
		return nil
	}
	return jsii.Number(float64(t.Unix()))
}

func derefAll(ptrs []*string) []string {
	out := make([]string, 0, len(ptrs))
	for _, p := range ptrs {
		if p != nil {
			out = append(out, *p)
		}
	}
	return out
}
