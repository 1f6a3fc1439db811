@delegated
Feature: Signing in as a user
  Besides apps, users sign in through an app (the password grant here) and
  call the API with a delegated token: the token's delegated permissions
  (scp) and the user's Defender role both have to allow a call, a user sees
  only the machines of the device groups the role reaches, and the actions
  a user starts carry the user's name. Against a real tenant these
  scenarios need a test user with "View data" and advanced live response
  over the test device (conformance api --username, --password); those
  tagged @emulator-fixtures need the emulator's default users (one with
  basic live response, one with none, one limited to workstations).

  Scenario: The password grant gives a user a Bearer token the API accepts
    When I request a token with the password of the test user
    Then the response status is 200
    And the token response is a Bearer token valid for about an hour
    And the API accepts that token

  @smoke
  Scenario: The requestor of a user's action is the user's name
    Given the library holds the conformance probe script
    And an online Windows machine
    And I sign in as the test user
    When I run the script "conformance-probe.ps1" on it
    Then the response status is 201
    And the action's requestor is the test user's name

  Scenario: A user with advanced live response reads the machine and its actions
    Given the library holds the conformance probe script
    And an online Windows machine
    And I sign in as the test user
    When I run the script "conformance-probe.ps1" on it
    Then the response status is 201
    When I get the machine
    Then the response status is 200
    And the response is that machine
    When I send GET "/api/machineactions/{action}"
    Then the response status is 200

  @emulator-only
  Scenario Outline: A user's token without the delegated permission an endpoint needs is forbidden: <request>
    Given the library holds the conformance probe script
    And an online Windows machine
    And I call the API as the test user with only the delegated permissions "<scopes>"
    When I send <method> "<path>" with the body '<body>'
    Then the response status is 403
    And the error code is "Forbidden"
    And the error message contains "Missing delegated permissions"
    And the error message contains "<needed>"

    Examples:
      | request            | scopes               | method | path                                    | body                                                                                                 | needed               |
      | run live response  | Machine.Read         | POST   | /api/machines/{machine}/runliveresponse | {"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"conformance-probe.ps1"}]}]} | Machine.LiveResponse |
      | list machines      | Machine.LiveResponse | GET    | /api/machines                           |                                                                                                      | Machine.Read         |
      | list the library   | Machine.Read         | GET    | /api/libraryfiles                       |                                                                                                      | Library.Manage       |

  @emulator-fixtures
  Scenario Outline: A user with basic live response cannot <command>
    Given the library holds the conformance probe script
    And an online Windows machine
    And I sign in as the user with basic live response
    When I submit the request body '<body>' for it
    Then the response status is 403
    And the error code is "Forbidden"

    Examples:
      | command   | body                                                                                                 |
      | RunScript | {"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"conformance-probe.ps1"}]}]} |
      | PutFile   | {"Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"conformance-probe.ps1"}]}]}     |

  @emulator-fixtures
  Scenario: A user with basic live response can get a file
    Given an online Windows machine
    And I sign in as the user with basic live response
    When I submit the request body '{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows\\Temp\\install.log"}]}]}' for it
    Then the response status is 201
    And the response is an action with the status "Pending"

  @emulator-fixtures
  Scenario: A user without live response cannot start it but reads machines
    Given an online Windows machine
    And I sign in as the user without live response
    When I submit the request body '{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows\\Temp\\install.log"}]}]}' for it
    Then the response status is 403
    And the error code is "Forbidden"
    When I get the machine
    Then the response status is 200

  @emulator-fixtures
  Scenario: A machine outside the user's device groups is not found and not listed
    Given the library holds the conformance probe script
    And a machine outside the workstations user's device groups
    And an action of the default app on it
    And I sign in as the workstations user
    When I get the machine
    Then the response status is 404
    And the error code is "ResourceNotFound"
    When I run the script "conformance-probe.ps1" on it
    Then the response status is 404
    When I send GET "/api/machineactions/{action}"
    Then the response status is 404
    When I list machines with ""
    Then the response status is 200
    And the listed machines do not include that machine
    When I list machine actions
    Then the list does not include the action

  @emulator-only @limits
  Scenario: A user's sessions are capped per user, not only per tenant
    Given a tenant with 12 offline Windows machines
    And I sign in as the fleet's user
    When I start sessions until the profile's per-user session cap is reached
    Then every one of them was accepted
    When I run the script "Long-Running.ps1" on the next machine
    Then the response status is 429
    And the error code is "TooManyRequests"
    And the error message contains "fleet-user@contoso.onmicrosoft.com"
    And the Retry-After header is 60
    When I call the API as the default app
    And I run the script "Long-Running.ps1" on the next machine
    Then the response status is 201
