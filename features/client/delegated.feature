@client @delegated @sign-in-password
Feature: Signing in as a user
  A client that signs in as a user (MDE_USERNAME and MDE_PASSWORD: the
  password grant through the app) calls the API with the user's delegated
  token: the user's role decides what it may do, and the refresh token
  the identity platform gives renews the access token without the
  password. These scenarios apply to clients whose manifest declares
  "signIn": ["password"].

  @required @run-script
  Scenario: a user without advanced live response runs a script
    Given the client signs in as the user "tier1@contoso.onmicrosoft.com"
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then it got a 403 on submit
    And the client exits non-zero
    And its output mentions one of "403|Forbidden|not allow|permission"
    And it sent at most 2 live response requests
    And it submitted 0 live response actions

  @required @run-script
  Scenario: a user runs a script with their own sign-in
    Given the client signs in as the user "analyst@contoso.onmicrosoft.com"
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And its standard output contains "explorer"
    And it submitted 1 live response action

  @recommended @run-script
  Scenario: the refresh token is used instead of a new sign-in
    Given the client signs in as the user "analyst@contoso.onmicrosoft.com"
    And the client's access tokens last 3 seconds
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And its standard output contains "explorer"
    And it renewed its token with the refresh token, not the password
