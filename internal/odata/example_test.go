package odata_test

import (
	"fmt"
	"net/url"
	"time"

	"github.com/mdelive/mde-emulator/internal/odata"
)

// action is a stand-in for the emulator's MachineAction.
type action struct {
	ID      string
	Status  string
	Created time.Time
}

func (a *action) Field(name string) any {
	switch name {
	case "id":
		return a.ID
	case "status":
		return a.Status
	case "creationDateTimeUtc":
		return a.Created
	}
	return nil
}

func Example() {
	schema := odata.NewSchema(
		odata.Field{Name: "id", Type: odata.String},
		odata.Field{Name: "status", Type: odata.String},
		odata.Field{Name: "creationDateTimeUtc", Type: odata.DateTime},
	)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	actions := []*action{
		{"a1", "Succeeded", t0},
		{"a2", "Pending", t0.Add(time.Hour)},
		{"a3", "Succeeded", t0.Add(2 * time.Hour)},
		{"a4", "Succeeded", t0.Add(3 * time.Hour)},
	}

	values, _ := url.ParseQuery("$filter=Status eq 'succeeded' and CreationDateTimeUtc ge 2024-01-01T00:30:00Z" +
		"&$orderby=creationDateTimeUtc desc&$count=true")
	q, err := odata.Parse(values, schema, odata.Options{PageSize: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	page := odata.Apply(q, actions)
	for _, a := range page.Items {
		fmt.Println(a.ID)
	}
	fmt.Println("count:", page.Count)
	fmt.Println("next:", page.NextQuery(values))

	_, err = odata.Parse(url.Values{"$filter": {"rbacGroupId eq 5"}}, schema, odata.Options{})
	fmt.Println(err)
	// Output:
	// a4
	// count: 2
	// next: $count=true&$filter=Status%20eq%20%27succeeded%27%20and%20CreationDateTimeUtc%20ge%202024-01-01T00%3A30%3A00Z&$orderby=creationDateTimeUtc%20desc&$skip=1
	// Invalid OData URI query: property 'rbacGroupId' is not filterable
}
