@client @polling
Feature: Polling an action to its end
  After the 201 a client polls GET /api/machineactions/{id} until the action
  is final. It should not hammer the API (the budget is 100 calls a minute
  for the whole app), should notice the end promptly, and must stop at every
  final status: Succeeded, Failed, Cancelled and TimeOut.

  @required @run-script
  Scenario: polls at a sensible pace and notices the end promptly
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And it polled its action no more than once a second on average
    And it saw the final status within 60 seconds of the action becoming final

  @required @run-script
  Scenario Outline: treats <status> as final
    Given <scene>
    When the client runs "run-script win-01.contoso.local <script>"
    Then the client exits non-zero
    And its action ended "<status>"
    And it did not poll its action after it saw the final status

    Examples:
      | status    | script            | scene                                                      |
      | Failed    | Fail.ps1          | the clock runs at real speed                               |
      | Cancelled | Slow.ps1          | the kit cancels the client's action once it is running     |
      | TimeOut   | Hang.ps1          | the clock runs 120 times faster than real time             |
