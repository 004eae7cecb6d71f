# Helpers shared by build.ps1 and the scripts it runs.

function Write-Step([string] $Text) {
    Write-Host "==> $Text" -ForegroundColor Cyan
}

# Runs a native command and throws when it fails, so a broken step stops the build.
# A simple function (no [Parameter]) so that switches such as -o and -c pass through untouched.
function Invoke-Native {
    $Command, $Arguments = $args
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$Command $($Arguments -join ' ')' failed with exit code $LASTEXITCODE." }
}

# The command line that starts a fresh pwsh like this one (the dotnet tool runs pwsh.dll under dotnet).
function Get-PwshCommand {
    $process = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') {
        return @($process, (Join-Path $PSHOME 'pwsh.dll'))
    }
    return @($process)
}

# Runs a script in a fresh pwsh: Invoke-Pwsh [-AllowFailure] -File SCRIPT [-Name value ...].
# Leaves $LASTEXITCODE set; throws on failure unless -AllowFailure.
function Invoke-Pwsh {
    $File = $null; $AllowFailure = $false; $Rest = @()
    for ($i = 0; $i -lt $args.Count; $i++) {
        if ($args[$i] -eq '-File') { $File = $args[++$i] }
        elseif ($args[$i] -eq '-AllowFailure') { $AllowFailure = $true }
        else { $Rest += $args[$i] }
    }
    $pwsh = Get-PwshCommand
    $exe = $pwsh[0]
    $arguments = @($pwsh | Select-Object -Skip 1) + @('-NoLogo', '-NoProfile', '-NonInteractive', '-File', $File) + @($Rest)
    & $exe @arguments
    if (-not $AllowFailure -and $LASTEXITCODE -ne 0) { throw "$File failed with exit code $LASTEXITCODE." }
}
