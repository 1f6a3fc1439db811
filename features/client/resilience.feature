@client @resilience
Feature: Surviving the network and the platform
  Tokens expire or are revoked, a new action can be briefly unknown to the
  read side, download links expire, servers answer 5xx and connections
  drop. A client recovers from what is passing, with bounded retries and
  backoff, and fails clearly when it is not passing.

  @required @run-script
  Scenario: a 401 in the middle of a run: one new token, then on
    Given the next poll answers 401
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And its standard output contains "explorer"
    And it asked for a new token at most once per 401

  @required @run-script
  Scenario: the new action is not found at first, right after the 201
    Given the first 2 polls of the new action answer 404
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then it got a 404 while polling
    And the client exits 0
    And its standard output contains "explorer"
    And it submitted 1 live response action

  @required @run-script
  Scenario: an expired download link: a new link, not a new action
    Given the next result download answers 403 as an expired link does
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And its standard output contains "explorer"
    And it asked for the download link at least 2 times
    And it submitted 1 live response action

  @required @run-script
  Scenario Outline: <status> while polling: retries with backoff
    Given the next 3 polls answer <status>
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And its standard output contains "explorer"
    And it never called a failing endpoint again within 0.5 seconds

    Examples:
      | status |
      | 500    |
      | 503    |

  @required @run-script
  Scenario: dropped connections while polling
    Given the next 2 polls drop the connection
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And its standard output contains "explorer"

  @required @run-script
  Scenario: the API stays down: bounded retries, then a clear failure
    Given every poll answers 503
    And the client may take up to 150 seconds
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits non-zero
    And its output is not empty
    And it polled its action at most 11 times
    And it never called a failing endpoint again within 0.5 seconds
