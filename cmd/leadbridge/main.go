// Command leadbridge is the CDK app: it reads the configuration file named by
// the context key `config` (or the example shipped in the repository),
// validates it, and synthesizes the producer stack and one consumer stack per
// consumer. Configuration errors print one line each and exit non-zero.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/leadbridge/leadbridge/config"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/stacks"
)

// ConfigContextKey is the context key naming the configuration file.
const ConfigContextKey = "config"

func main() {
	defer jsii.Close()
	if source, err := run(); err != nil {
		for _, line := range splitJoined(err) {
			fmt.Fprintf(os.Stderr, "leadbridge: %s: %s\n", source, line)
		}
		os.Exit(1)
	}
}

// run synthesizes the app and returns what went wrong, and where: the
// configuration file or the construct whose props were rejected.
func run() (source string, err error) {
	source = "the embedded example config"
	// Construct props are validated again by each construct, which panics as
	// CDK constructs throw; report such a panic as the error it carries.
	defer func() {
		if r := recover(); r != nil {
			var propsErr *validate.PropsError
			if e, ok := r.(error); ok && errors.As(e, &propsErr) {
				source, err = "construct props", propsErr
				return
			}
			panic(r)
		}
	}()
	app := awscdk.NewApp(nil)
	path, _ := app.Node().TryGetContext(jsii.String(ConfigContextKey)).(string)
	if path != "" {
		source = path
	}
	d, err := config.Load(path)
	if err != nil {
		return source, err
	}
	stacks.NewApp(app, d)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
	return source, nil
}

// splitJoined flattens an errors.Join tree into its leaf messages.
func splitJoined(err error) []string {
	var out []string
	var walk func(error, string)
	walk = func(e error, prefix string) {
		if joined, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range joined.Unwrap() {
				walk(inner, prefix)
			}
			return
		}
		var propsErr *validate.PropsError
		if errors.As(e, &propsErr) {
			walk(propsErr.Err, prefix+propsErr.Construct+": ")
			return
		}
		out = append(out, prefix+e.Error())
	}
	walk(err, "")
	return out
}
