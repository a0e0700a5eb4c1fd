package pipeline

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/monitoring"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// leftBehind is where a side's runs wait and what to do about one that stays.
type leftBehind struct {
	id          string
	bucket      awss3.IBucket
	prefix      string
	maxAge      awscdk.Duration
	description string
}

// watchSide forwards a side's alarms to the app's own topic, if given, and
// adds the check that alarms on a run left behind under the prefix.
func watchSide(scope constructs.Construct, alarms *workflow.AlarmTopic, forward awssns.ITopic, w leftBehind) *monitoring.StaleObjectsCheck {
	if forward != nil {
		alarms.ForwardTo(forward)
	}
	return monitoring.NewStaleObjectsCheck(scope, jsii.String(w.id), &monitoring.StaleObjectsCheckProps{
		Bucket:      w.bucket,
		Prefix:      jsii.String(w.prefix),
		Alarms:      alarms,
		MaxAge:      w.maxAge,
		Description: jsii.String(w.description),
	})
}
