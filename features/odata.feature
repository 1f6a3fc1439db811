@odata
Feature: Listing machine actions with OData
  GET /api/machineactions lists actions newest first and accepts OData:
  $filter (eq ne gt ge lt le and or not in), $top (at most 10,000), $skip,
  $orderby and $count. A query it cannot run is 400 ODataError.

  @emulator-only
  Scenario Outline: Filtering, ordering and paging: <query>
    Given these live response actions, started one minute apart:
      | name | machine                | script            |
      | A    | the Windows machine    | Get-Processes.ps1 |
      | B    | the second Windows machine | Get-Processes.ps1 |
      | C    | the Linux machine      | Fail-Always.ps1   |
    And 1 minute passes
    When I list machine actions with "<query>"
    Then the response status is 200
    And the listed actions are "<actions>"

    Examples:
      | query                                                             | actions |
      |                                                                   | C, B, A |
      | $filter=status eq 'Succeeded'                                     | B, A    |
      | $filter=Status eq 'Failed'                                        | C       |
      | $filter=status ne 'Failed'                                        | B, A    |
      | $filter=machineId eq '{Windows machine}' or machineId eq '{Linux machine}' | C, A |
      | $filter=id in ('{A}','{C}')                                       | C, A    |
      | $filter=not (status eq 'Succeeded')                               | C       |
      | $filter=creationDateTimeUtc ge {A created + 30s}                      | C, B    |
      | $filter=type eq 'LiveResponse' and requestor eq 'SOAR Automation' | C, B, A |
      | $top=1&$skip=1                                                    | B       |
      | $orderby=creationDateTimeUtc asc                                  | A, B, C |

  @emulator-only
  Scenario: $count gives the number of matching actions, whatever the page
    Given these live response actions, started one minute apart:
      | name | machine                    | script            |
      | A    | the Windows machine        | Get-Processes.ps1 |
      | B    | the second Windows machine | Get-Processes.ps1 |
    When I list machine actions with "$count=true&$top=1"
    Then the list's count is 2
    And the list holds 1 action

  Scenario: $top limits the list, and $count=true adds @odata.count
    When I list machine actions with "$top=1&$count=true"
    Then the response status is 200
    And the response has the OData context "#MachineActions"
    And the list holds at most 1 action
    And the list has a count

  Scenario: An action started by the automation is found by its id
    Given the library holds the conformance probe script
    And an online Windows machine
    When I run the script "conformance-probe.ps1" on it
    And I list machine actions with "$filter=id eq '{action}'"
    Then the listed actions are "the action"

  Scenario Outline: A query the service cannot run is refused: <case>
    When I list machine actions with "<query>"
    Then the response status is 400
    And the error code is "ODataError"

    Examples:
      | case                    | query                    |
      | an incomplete filter    | $filter=status eq        |
      | an unknown property     | $filter=color eq 'red'   |
      | a page over 10,000      | $top=10001               |
      | a page that is no number| $top=x                   |
      | an unsupported option   | $select=id               |

  @emulator-only @machines @large
  Scenario: A list longer than a page carries a next link to the rest
    Given a tenant with 10001 machines
    When I list every machine, following the next links
    Then the pages hold "10000, 1" machines, each machine once
