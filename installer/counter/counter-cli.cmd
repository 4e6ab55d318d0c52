@echo off
rem The counter's command line (pair, status, lookup, outbox, ...), run by the installed app's
rem own Node: its Electron binary in Node mode. Run it as the Windows user who uses the counter:
rem   "C:\Program Files\Showroom Loyalty Counter\resources\counter-cli.cmd" pair --central URL --code CODE
rem It uses the data folder the app uses by default; set TERMINAL_DATA_DIR if counter.json moves it.
setlocal
set "ELECTRON_RUN_AS_NODE=1"
if not defined TERMINAL_DATA_DIR set "TERMINAL_DATA_DIR=%APPDATA%\Showroom Loyalty Counter\terminal"
"%~dp0..\Showroom Loyalty Counter.exe" "%~dp0app\terminal\main.ts" %*
exit /b %ERRORLEVEL%
