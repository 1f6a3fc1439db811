@client @throttling
Feature: Throttling
  The API allows an app 10 runliveresponse calls a minute, 100 calls a minute
  to the other endpoints, and a tenant 25 live response sessions at once.
  Past a limit it answers 429 Too Many Requests with Retry-After in seconds.
  A client waits at least that long before calling the same endpoint again,
  and gets its work done once the throttling stops.

  @required @run-script
  Scenario: 429 on submit: the app used its 10 calls of this minute
    Given the clock runs 6 times faster than real time
    And the client's app has used its 10 live response calls of this minute
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then it got a 429 on submit
    And it waited for Retry-After after every 429
    And it never made more than 10 submissions in a minute
    And the client exits 0
    And its standard output contains "explorer"

  @required @run-script
  Scenario: 429 while polling
    Given the next 2 polls answer 429 with Retry-After "3s"
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then it got a 429 while polling
    And it waited for Retry-After after every 429
    And the client exits 0
    And its standard output contains "explorer"

  @required @run-script
  Scenario: 429 on the download link
    Given the next 2 download link calls answer 429 with Retry-After "3s"
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then it got a 429 on the download link
    And it waited for Retry-After after every 429
    And the client exits 0
    And its standard output contains "explorer"

  @required @run-script
  Scenario: the 25-session cap
    Given the clock runs 6 times faster than real time
    And the tenant's 25 live response sessions are taken, and freed once the client is refused
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then it got a 429 on submit
    And it waited for Retry-After after every 429
    And the client exits 0
    And its standard output contains "explorer"
