package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/leadbridge/leadbridge/constructs/producer"
	"github.com/leadbridge/leadbridge/internal/validate"
)

// The checks between the two sides. Each side derives the other's names
// from accounts and regions, so a mistake here synthesizes cleanly and fails
// only at deploy or run time; the patterns refuse it at synth instead.

// explicitEnv requires a stack deployed to a known account and region: the
// names both sides derive for each other carry them, and the checks below
// compare them.
func explicitEnv(stack awscdk.Stack) error {
	if validate.Unresolved(*stack.Account()) || validate.Unresolved(*stack.Region()) {
		return fmt.Errorf("the stack %s must have an explicit env (awscdk.StackProps.Env with Account and Region): the pipeline's names carry them", *stack.StackName())
	}
	return nil
}

// eventBusArnPattern is an event bus ARN: region, account and bus name.
var eventBusArnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):event-bus/([\w.\-/]+)$`)

// validateConsumerTargets checks every consumer the producer hands off to
// against the producer's stack: another account, the same region, a name of
// its own (it names the hand-off's states).
func validateConsumerTargets(targets []*producer.ConsumerTarget, stack awscdk.Stack) error {
	var errs []error
	seen := map[string]int{}
	for i, t := range targets {
		key := fmt.Sprintf("Consumers[%d]", i)
		if t == nil {
			errs = append(errs, fmt.Errorf("%s is nil: build each consumer with producer.NewConsumerTarget", key))
			continue
		}
		if first, dup := seen[t.Name]; dup {
			errs = append(errs, fmt.Errorf("%s.Name %q is already used by Consumers[%d]: give each consumer its own name", key, t.Name, first))
		} else {
			seen[t.Name] = i
		}
		if validate.Unresolved(t.EventBusArn) {
			continue
		}
		m := eventBusArnPattern.FindStringSubmatch(t.EventBusArn)
		if m == nil {
			errs = append(errs, fmt.Errorf("%s.EventBusArn must be an event bus ARN such as arn:aws:events:eu-west-1:222222222222:event-bus/leadbridge-sales, got %q", key, t.EventBusArn))
			continue
		}
		region, account := m[1], m[2]
		if explicitEnv(stack) != nil {
			continue
		}
		if account == *stack.Account() {
			errs = append(errs, fmt.Errorf("%s (%s) is in account %s, the producer's own: deploy each consumer to another account than the producer", key, t.Name, account))
		}
		if region != *stack.Region() {
			errs = append(errs, fmt.Errorf("%s (%s) is in region %s, the producer's is %s: the hand-off copies and announces within one region, deploy the consumer to %s", key, t.Name, region, *stack.Region(), *stack.Region()))
		}
	}
	return errors.Join(errs...)
}

// consumerNames remembers, per app, which construct claimed each consumer's
// names in an account and region: the bus (<project>-<name>), the Glue job
// and the flows are named by project and consumer name alone, and such names
// are unique per account and region. Keyed by the app's root construct,
// which jsii hands back as the same Go value each time.
var consumerNames = struct {
	sync.Mutex
	byApp map[constructs.IConstruct]map[string]string
}{byApp: map[constructs.IConstruct]map[string]string{}}

// claimConsumerName refuses a second consumer with the same project and name
// in the account and region of scope's stack, anywhere in the app; id is the
// consumer's construct ID under scope.
func claimConsumerName(scope constructs.Construct, id, project, name string) error {
	stack := awscdk.Stack_Of(scope)
	key := fmt.Sprintf("%s/%s/%s-%s", *stack.Account(), *stack.Region(), project, name)
	path := *scope.Node().Path() + "/" + id
	consumerNames.Lock()
	defer consumerNames.Unlock()
	root := scope.Node().Root()
	claimed := consumerNames.byApp[root]
	if claimed == nil {
		claimed = map[string]string{}
		consumerNames.byApp[root] = claimed
	}
	if first, dup := claimed[key]; dup {
		return fmt.Errorf("Name %q is already used by the consumer under %s in account %s and region %s: give each consumer of an account its own name", name, first, *stack.Account(), *stack.Region())
	}
	claimed[key] = path
	return nil
}
