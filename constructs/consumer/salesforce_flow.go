package consumer

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsappflow"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/appflowtasks"
	"github.com/leadbridge/leadbridge/internal/validate"
)

// SalesforceFlowProps configures a SalesforceFlow.
type SalesforceFlowProps struct {
	// FlowName names the flow the orchestration starts.
	FlowName *string
	// ConnectorProfileName is the Salesforce connection made once, by a person, in AppFlow.
	ConnectorProfileName *string
	// Bucket holds the curated CSV under CuratedPrefix and receives failed records under ErrorsPrefix.
	Bucket awss3.IBucket
	// FieldMapping maps curated columns to Lead fields.
	// Default: - DefaultLeadFieldMapping().
	FieldMapping *map[string]*string
	// IdField is the Lead field AppFlow upserts on: Id or a custom External ID
	// field (ValidateUpsertField); it must be mapped.
	// Default: - DefaultUpsertField (Marketo_Id__c).
	IdField *string
}

// SalesforceFlow loads the curated CSV into Salesforce as Leads (upsert), on demand.
type SalesforceFlow struct {
	constructs.Construct
	Flow     awsappflow.CfnFlow
	FlowName *string
}

func (p *SalesforceFlowProps) withDefaults() SalesforceFlowProps {
	out := *p
	if out.FieldMapping == nil {
		m := map[string]*string{}
		for k, v := range DefaultLeadFieldMapping() {
			m[k] = jsii.String(v)
		}
		out.FieldMapping = &m
	}
	if out.IdField == nil {
		out.IdField = jsii.String(DefaultUpsertField)
	}
	return out
}

func (p *SalesforceFlowProps) validate() error {
	return errors.Join(
		validate.RequiredStrings(map[string]*string{"FlowName": p.FlowName, "ConnectorProfileName": p.ConnectorProfileName}),
		validate.NotNil(map[string]any{"Bucket": p.Bucket}),
		ValidateLeadMapping("SalesforceFlow", derefMap(*p.FieldMapping), *p.IdField))
}

// NewSalesforceFlow creates the flow.
func NewSalesforceFlow(scope constructs.Construct, id *string, props *SalesforceFlowProps) *SalesforceFlow {
	if props == nil {
		props = &SalesforceFlowProps{}
	}
	p := props.withDefaults()
	validate.Must("SalesforceFlow", p.validate())
	this := constructs.NewConstruct(scope, id)

	mapping := derefMap(*p.FieldMapping)
	var fields []appflowtasks.Field
	for _, column := range slices.Sorted(maps.Keys(mapping)) {
		fields = append(fields, appflowtasks.Field{Source: column, Destination: mapping[column]})
	}
	tasks := appflowtasks.ProjectAndMap(func(op string) *awsappflow.CfnFlow_ConnectorOperatorProperty {
		return &awsappflow.CfnFlow_ConnectorOperatorProperty{S3: jsii.String(op)}
	}, fields)

	flow := awsappflow.NewCfnFlow(this, jsii.String("Flow"), &awsappflow.CfnFlowProps{
		FlowName:      p.FlowName,
		Description:   jsii.String("Upserts curated leads into Salesforce Lead; started by the orchestration."),
		TriggerConfig: &awsappflow.CfnFlow_TriggerConfigProperty{TriggerType: jsii.String("OnDemand")},
		SourceFlowConfig: &awsappflow.CfnFlow_SourceFlowConfigProperty{
			ConnectorType: jsii.String("S3"),
			SourceConnectorProperties: &awsappflow.CfnFlow_SourceConnectorPropertiesProperty{
				S3: &awsappflow.CfnFlow_S3SourcePropertiesProperty{
					BucketName:   p.Bucket.BucketName(),
					BucketPrefix: jsii.String(strings.TrimSuffix(CuratedPrefix, "/")),
					// AppFlow reads CSV with a header row or JSON Lines from S3, never Parquet.
					S3InputFormatConfig: &awsappflow.CfnFlow_S3InputFormatConfigProperty{S3InputFileType: jsii.String("CSV")},
				},
			},
		},
		DestinationFlowConfigList: &[]interface{}{&awsappflow.CfnFlow_DestinationFlowConfigProperty{
			ConnectorType:        jsii.String("Salesforce"),
			ConnectorProfileName: p.ConnectorProfileName,
			DestinationConnectorProperties: &awsappflow.CfnFlow_DestinationConnectorPropertiesProperty{
				Salesforce: &awsappflow.CfnFlow_SalesforceDestinationPropertiesProperty{
					Object:             jsii.String("Lead"),
					WriteOperationType: jsii.String("UPSERT"),
					IdFieldNames:       jsii.Strings(*p.IdField),
					ErrorHandlingConfig: &awsappflow.CfnFlow_ErrorHandlingConfigProperty{
						BucketName:       p.Bucket.BucketName(),
						BucketPrefix:     jsii.String(strings.TrimSuffix(ErrorsPrefix, "/")),
						FailOnFirstError: jsii.Bool(false),
					},
				},
			},
		}},
		Tasks: tasks,
	})
	if b, ok := p.Bucket.(awss3.Bucket); ok && b.Policy() != nil {
		flow.Node().AddDependency(b.Policy())
	}
	return &SalesforceFlow{Construct: this, Flow: flow, FlowName: p.FlowName}
}

func derefMap(m map[string]*string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}
