@auth
Feature: Tokens and permissions
  Apps get tokens from the identity platform with client credentials. The
  API answers 401 Unauthorized to a missing, malformed, badly signed or
  expired token, 403 Forbidden to a token for another API or without the
  application role the endpoint needs, and keeps each tenant's data to
  itself.

  Scenario: Client credentials give a Bearer token the API accepts
    When I request a token with the client credentials of the default app
    Then the response status is 200
    And the token response is a Bearer token valid for about an hour
    And the API accepts that token

  Scenario: The v1 token endpoint with a resource also gives a token
    When I request a token with the client credentials of the default app from the v1 endpoint
    Then the response status is 200
    And the API accepts that token

  Scenario: A wrong client secret is refused by the identity platform
    When I request a token for the default app with a wrong client secret
    Then the response status is 401
    And the identity platform error is "invalid_client" with "AADSTS7000215" in its description

  Scenario: A tenant that does not exist is refused by the identity platform
    When I request a token for a tenant that does not exist
    Then the response status is 400
    And the identity platform error is "invalid_request" with "AADSTS90002" in its description

  Scenario Outline: The API refuses a request with <case>
    Given I call the API with the Authorization header "<header>"
    When I list machines with "$top=1"
    Then the response status is 401
    And the error code is "Unauthorized"

    Examples:
      | case                       | header                    |
      | no Authorization header    |                           |
      | a Basic credential         | Basic YWJjOmRlZg==        |
      | a token that is no JWT     | Bearer not.a.jwt          |
      | a token with a bad signature | Bearer {tampered token} |

  @emulator-only
  Scenario: An expired token is refused
    Given I call the API with a token that expires in 10 minutes
    When I list machines with "$top=1"
    Then the response status is 200
    When 10 minutes pass
    And I list machines with "$top=1"
    Then the response status is 401
    And the error code is "Unauthorized"

  @emulator-only
  Scenario: A token for another API is forbidden
    Given I call the API with a token for the audience "https://userrequestsgraphapi-prd.trafficmanager.net"
    When I list machines with "$top=1"
    Then the response status is 403
    And the error code is "Forbidden"

  @emulator-only
  Scenario Outline: An app without the role an endpoint needs is forbidden: <request>
    Given the library holds the conformance probe script
    And an online Windows machine
    And an action of the default app on it
    And I call the API with a token that has only the roles "<roles>"
    When I send <method> "<path>" with the body '<body>'
    Then the response status is 403
    And the error code is "Forbidden"
    And the error message contains "Missing application roles"
    And the error message contains "<needed>"

    Examples:
      | request                 | roles                        | method | path                                                                 | body                                                                                       | needed               |
      | run live response       | Machine.Read.All             | POST   | /api/machines/{machine}/runliveresponse                             | {"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"conformance-probe.ps1"}]}]} | Machine.LiveResponse |
      | list machines           | Machine.LiveResponse         | GET    | /api/machines                                                        |                                                                                            | Machine.Read.All     |
      | get a machine           | Machine.LiveResponse         | GET    | /api/machines/{machine}                                              |                                                                                            | Machine.Read.All     |
      | list machine actions    | Machine.LiveResponse         | GET    | /api/machineactions                                                  |                                                                                            | Machine.Read.All     |
      | get a machine action    | Library.Manage               | GET    | /api/machineactions/{action}                                         |                                                                                            | Machine.Read.All     |
      | cancel an action        | Machine.Read.All             | POST   | /api/machineactions/{action}/cancel                                  | {"Comment":"x"}                                                                            | Machine.LiveResponse |
      | get a download link     | Library.Manage               | GET    | /api/machineactions/{action}/GetLiveResponseResultDownloadLink(index=0) |                                                                                         | Machine.LiveResponse |
      | list the library        | Machine.Read.All             | GET    | /api/libraryfiles                                                    |                                                                                            | Library.Manage       |
      | delete a library file   | Machine.LiveResponse         | DELETE | /api/libraryfiles/conformance-probe.ps1                              |                                                                                            | Library.Manage       |

  @emulator-only
  Scenario Outline: One role is enough where an endpoint accepts several: <request>
    Given the library holds the conformance probe script
    And an online Windows machine
    And an action of the default app on it
    And I call the API with a token that has only the roles "<roles>"
    When I send <method> "<path>" with the body '<body>'
    Then the response status is <status>

    Examples:
      | request                                  | roles                 | method | path                                                                    | body            | status |
      | read actions with Machine.ReadWrite.All  | Machine.ReadWrite.All | GET    | /api/machineactions/{action}                                            |                 | 200    |
      | download links with Machine.LiveResponse | Machine.LiveResponse  | GET    | /api/machineactions/{action}/GetLiveResponseResultDownloadLink(index=0) |                 | 400    |
      | cancel with Machine.Isolate              | Machine.Isolate       | POST   | /api/machineactions/{action}/cancel                                     | {"Comment":"x"} | 200    |

  @emulator-only
  Scenario Outline: A tenant's app cannot reach another tenant's data: <request>
    Given two tenants, each with one machine and one script
    And the first tenant's app has run its script on its machine
    And 1 minute passes
    And I call the API as the second tenant's app
    When I send <method> "<path>" with the body '<body>'
    Then the response status is 404

    Examples:
      | request                    | method | path                                                                    | body                                                                                  |
      | get the machine by id      | GET    | /api/machines/{machine}                                                 |                                                                                       |
      | get the machine by name    | GET    | /api/machines/{machine name}                                            |                                                                                       |
      | run live response on it    | POST   | /api/machines/{machine}/runliveresponse                                 | {"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"b.ps1"}]}]}  |
      | get the action             | GET    | /api/machineactions/{action}                                            |                                                                                       |
      | cancel the action          | POST   | /api/machineactions/{action}/cancel                                     | {"Comment":"x"}                                                                       |
      | get its download link      | GET    | /api/machineactions/{action}/GetLiveResponseResultDownloadLink(index=0) |                                                                                       |
      | delete its library file    | DELETE | /api/libraryfiles/a.ps1                                                 |                                                                                       |

  @emulator-only
  Scenario: A tenant's lists hold none of another tenant's data
    Given two tenants, each with one machine and one script
    And the first tenant's app has run its script on its machine
    And I call the API as the second tenant's app
    When I list machine actions
    Then the list does not include the action
    When I list the library
    Then the library does not list "a.ps1"
    When I list machines with ""
    Then the listed machines are "b1.beta.local"
