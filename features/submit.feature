@submit
Feature: Submitting a live response action
  A security automation starts live response on a machine with
  POST /api/machines/{id}/runliveresponse. The service checks the request
  and answers 201 Created with a machine action, or an error whose code the
  automation can act on (the message is free text and may change).

  Background:
    Given the library holds the conformance probe script

  @smoke
  Scenario: A valid RunScript request is accepted as a Pending action
    Given an online Windows machine
    When I run the script "conformance-probe.ps1" on it with the comment "Testing Live Response API"
    Then the response status is 201
    And the response has the OData context "#MachineActions/$entity"
    And the response is an action with the status "Pending"
    And the action is a "LiveResponse" action on that machine
    And the action's requestor comment is "Testing Live Response API"
    And every command is "Created"
    And no command has a start or end time

  Scenario: Args are optional free text
    Given an online Windows machine
    When I run the script "conformance-probe.ps1" with the arguments "--noargs" on it
    Then the response status is 201
    And command 0 has the parameter "Args" set to "--noargs"

  @emulator-only
  Scenario: The requestor of an action started by an app is the app's name
    Given an online Windows machine
    When I run the script "Get-Processes.ps1" on it
    Then the response status is 201
    And the action's requestor is "SOAR Automation"

  Scenario Outline: A malformed request is refused: <case>
    Given an online Windows machine
    When I submit the request body '<body>' for it
    Then the response status is 400
    And the error code is "<code>"

    Examples:
      | case                                 | body                                                                                                                  | code                     |
      | body property in the wrong case      | {"commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"conformance-probe.ps1"}]}]}                  | MissingRequiredParameter |
      | no commands                          | {"Commands":[]}                                                                                                       | InvalidRequestBody       |
      | unknown command type                 | {"Commands":[{"type":"RunCommand","params":[]}]}                                                                      | InvalidRequestBody       |
      | GetFile before RunScript             | {"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"/tmp/x"}]},{"type":"RunScript","params":[{"key":"ScriptName","value":"conformance-probe.ps1"}]}]} | InvalidRequestBody |
      | RunScript without ScriptName         | {"Commands":[{"type":"RunScript","params":[{"key":"Args","value":"x"}]}]}                                            | MissingRequiredParameter |
      | GetFile without Path                 | {"Commands":[{"type":"GetFile","params":[]}]}                                                                         | MissingRequiredParameter |
      | PutFile without FileName             | {"Commands":[{"type":"PutFile","params":[]}]}                                                                         | MissingRequiredParameter |
      | parameter key in the wrong case      | {"Commands":[{"type":"RunScript","params":[{"key":"scriptname","value":"conformance-probe.ps1"}]}]}                  | InvalidRequestBody       |
      | duplicate parameter key              | {"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"conformance-probe.ps1"},{"key":"ScriptName","value":"conformance-probe.ps1"}]}]} | InvalidRequestBody |
      | script that is not in the library    | {"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"no-such-script.ps1"}]}]}                     | InvalidInput             |
      | body that is not JSON                | {"Commands":                                                                                                          | InvalidRequestBody       |

  @emulator-only
  Scenario Outline: The error names what is missing: <parameter>
    Given an online Windows machine
    When I submit the request body '<body>' for it
    Then the response status is 400
    And the error code is "MissingRequiredParameter"
    And the error message is "Parameter <parameter> is missing."

    Examples:
      | parameter  | body                                                          |
      | ScriptName | {"Commands":[{"type":"RunScript","params":[]}]}               |
      | Path       | {"Commands":[{"type":"GetFile","params":[]}]}                 |
      | FileName   | {"Commands":[{"type":"PutFile","params":[]}]}                 |

  Scenario: A machine that does not exist is 404
    Given a machine that does not exist
    When I run the script "conformance-probe.ps1" on it
    Then the response status is 404
    And the error code is "ResourceNotFound"

  @emulator-only
  Scenario: A machine whose device group has no remediation level is refused
    Given a machine in a device group without a remediation level
    When I run the script "Get-Processes.ps1" on it
    Then the response status is 403
    And the error code is "DisallowedOperation"
    And the error message contains "no automation level"

  @emulator-only
  Scenario: A machine on a platform live response does not support is refused
    Given a machine on an unsupported platform
    When I run the script "Get-Processes.ps1" on it
    Then the response status is 400
    And the error code is "OsPlatformNotSupported"
    And the error message contains "Windows7"

  Scenario: The path is case-insensitive and the machine can be named by its computer name
    Given an online Windows machine
    When I run the script "conformance-probe.ps1" on it through the path "/API/Machines/{machine name}/RunLiveResponse"
    Then the response status is 201
    And the action is a "LiveResponse" action on that machine

  Scenario: A second action on a machine with an action in progress is refused
    Given an online Windows machine
    When I run the script "conformance-probe.ps1" on it
    And I run the script "conformance-probe.ps1" on it again
    Then the response status is 400
    And the error code is "ActiveRequestAlreadyExists"
    And the error message is "Action is already in progress"
