package workflow

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
)

// FailedStateVariable holds, on a failure path, the name of the state that
// gave up: a Catch or a giving-up Pass assigns it (Step Functions variables),
// and the failure path's Fail state names it in its cause.
const FailedStateVariable = "failedState"

// NoteFailedState is the Assign of a Catch, or of a Pass that gives up, that
// records the state's own name ($$.State.Name) in FailedStateVariable.
func NoteFailedState() *map[string]interface{} {
	return &map[string]interface{}{FailedStateVariable + ".$": "$$.State.Name"}
}

// CatchNamingState catches every error into resultPath and notes the state's name.
func CatchNamingState(resultPath string) *awsstepfunctions.CatchProps {
	return &awsstepfunctions.CatchProps{ResultPath: jsii.String(resultPath), Assign: NoteFailedState()}
}

// FailureCausePath is the CausePath of a failure path's Fail state: the run,
// the state that gave up and that state's cause, so that the failed-execution
// message (see newFailureRule) says all three without opening the history.
func FailureCausePath(runIDPath, causePath string) *string {
	return jsii.String(fmt.Sprintf("States.Format('run {} stopped at state {}: {}', %s, $%s, %s)", runIDPath, FailedStateVariable, causePath))
}
