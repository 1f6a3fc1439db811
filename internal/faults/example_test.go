package faults_test

import (
	"fmt"

	"github.com/mdelive/mde-emulator/internal/faults"
)

func ExampleInjector_Decide() {
	in := faults.New()
	r, err := faults.ParseRule([]byte(`{
		"name": "throttle every third run",
		"match": {"method": "POST", "path": "/api/machines/*/runliveresponse"},
		"calls": {"every": 3},
		"effect": {"status": 429, "retryAfter": "30s"}}`))
	if err != nil {
		panic(err)
	}
	if _, err := in.Add(r); err != nil {
		panic(err)
	}
	for i := 1; i <= 3; i++ {
		d, ok := in.Decide(faults.Request{Method: "POST", Path: "/api/machines/m1/runliveresponse"})
		if !ok {
			fmt.Println(i, "no fault")
			continue
		}
		fmt.Println(i, d.RuleID, d.Status, d.Code, d.RetryAfter)
	}
	// Output:
	// 1 no fault
	// 2 no fault
	// 3 f1 429 TooManyRequests 30s
}

func ExampleParseRule_error() {
	_, err := faults.ParseRule([]byte(`{"calls": {"next": 0}, "effect": {"status": 200}}`))
	fmt.Println(err)
	// Output:
	// invalid fault rule: calls.next: must be at least 1, got 0; effect.status: must be between 400 and 599, got 200
}
