@client @availability
Feature: Machines that cannot run the action now
  An offline machine keeps an action queued for up to 3 days, then the action
  ends TimeOut; a machine that is already running an action refuses a second
  one with 400 ActiveRequestAlreadyExists. A client waits or gives up with a
  clear message; it never resubmits in a loop.

  @required @run-script
  Scenario: an offline machine: the client waits or gives up clearly, and does not resubmit in a loop
    Given the clock runs 86400 times faster than real time
    When the client runs "run-script win-off.contoso.local Get-Processes.ps1"
    Then the client exits non-zero
    And its output is not empty
    And it submitted at most 1 live response action

  @required @run-script
  Scenario: a busy machine: the client waits for it or reports it, with few retries
    Given the machine "win-busy.contoso.local" is running another action for 15 seconds
    And the client may take up to 120 seconds
    When the client runs "run-script win-busy.contoso.local Get-Processes.ps1"
    Then it made at most 5 submissions, at least 1 second apart
    And either it exits 0 with "explorer" in its output, or it exits non-zero and its output mentions one of "ActiveRequestAlreadyExists|active"
