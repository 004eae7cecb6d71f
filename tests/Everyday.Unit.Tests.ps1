# Everyday use, the pure parts: the incomplete-diagnosis rule, the text the views wrap, the binding-time
# validation attributes, the words a failed name lookup gets, and the finding-id completion.
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    function New-Facts([object[]] $Unavailable = @()) {
        [MptcpTools.Diagnosis.HostFacts]@{ Unavailable = [MptcpTools.Diagnosis.UnavailableCheck[]]$Unavailable }
    }
    function New-Unavailable([string] $Component, [string] $Check, [string] $Reason, [switch] $NeedsPrivilege) {
        [MptcpTools.Diagnosis.UnavailableCheck]::new($Component, $Check, $Reason, $NeedsPrivilege.IsPresent)
    }
}

Describe 'DiagnosisIncomplete' {
    It 'is a Warning naming every check that could not run, with the reasons, so Error-and-Warning filters see it' {
        $facts = New-Facts @(
            New-Unavailable Firewall 'firewall (nftables)' 'Operation not permitted (EPERM).' -NeedsPrivilege
            New-Unavailable NetworkManager 'NetworkManager (D-Bus)' 'No D-Bus at unix:path=/run/dbus/system_bus_socket.')
        $f = @([MptcpTools.Diagnosis.DiagnosisRules]::Evaluate($facts) | Where-Object Id -eq 'DiagnosisIncomplete')
        $f.Count | Should -Be 1
        "$($f[0].Severity)" | Should -Be 'Warning'
        "$($f[0].Component)" | Should -Be 'Diagnosis'
        $f[0].Summary | Should -Match '2 check\(s\) could not run \(firewall \(nftables\), NetworkManager \(D-Bus\)\)'
        $f[0].Detail | Should -Match 'EPERM'
        $f[0].Detail | Should -Match 'No D-Bus'
        $f[0].Remediation | Should -Match 'root'
        $f[0].Evidence.Count | Should -Be 2
        # Each check keeps its own CheckUnavailable finding too.
        @([MptcpTools.Diagnosis.DiagnosisRules]::Evaluate($facts) | Where-Object Id -eq 'CheckUnavailable').Count | Should -Be 2
    }

    It 'passes when every check ran' {
        $f = @([MptcpTools.Diagnosis.DiagnosisRules]::Evaluate((New-Facts)) | Where-Object Id -eq 'DiagnosisIncomplete')
        "$($f[0].Severity)" | Should -Be 'Passed'
    }

    It 'is in the catalog, and documented' {
        [MptcpTools.Diagnosis.DiagnosisRules]::Catalog | Should -Contain 'DiagnosisIncomplete'
        (Get-Help about_MptcpTools | Out-String) | Should -Match '(?m)^\s+DiagnosisIncomplete\s*$'
    }
}

Describe 'ViewText.Wrap' {
    It 'breaks at spaces only, within the width, and keeps a longer word whole on a line of its own' {
        $text = 'add_addr_accepted is 0: addresses the peer announces are ignored.'
        $lines = [MptcpTools.Commands.ViewText]::Wrap($text, 24) -split "`n"
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 24 }
        ($lines -join ' ') | Should -BeExactly $text
        $lines[-1] | Should -Match ' ignored\.$'
        [MptcpTools.Commands.ViewText]::Wrap('a 0x1fdb5df328bc3def b', 10) -split "`n" | Should -Be @('a', '0x1fdb5df328bc3def', 'b')
    }

    It 'keeps the line breaks it is given, and leaves short text alone' {
        [MptcpTools.Commands.ViewText]::Wrap("first line`nsecond", 40) | Should -BeExactly "first line`nsecond"
        [MptcpTools.Commands.ViewText]::Wrap('short', 40) | Should -BeExactly 'short'
        [MptcpTools.Commands.ViewText]::Wrap($null, 40) | Should -BeExactly ''
    }

    It 'writes addresses with their ports as ss does' {
        [MptcpTools.Commands.ViewText]::Endpoint([ipaddress]'192.0.2.2', 5201) | Should -Be '192.0.2.2:5201'
        [MptcpTools.Commands.ViewText]::Endpoint([ipaddress]'2001:db8::2', 5201) | Should -Be '[2001:db8::2]:5201'
    }
}

Describe 'The repair kinds' {
    It 'about_MptcpTools describes every kind under REPAIRS' {
        $about = Get-Content (Join-Path (Split-Path (Get-Module MptcpTools).Path) 'en-US/about_MptcpTools.help.txt') -Raw
        $repairs = $about.Substring($about.IndexOf("`nREPAIRS"), $about.IndexOf("`nSCRIPTS AND MONITORING") - $about.IndexOf("`nREPAIRS"))
        $kinds = [Enum]::GetNames([MptcpTools.Diagnosis.RepairKind])
        $kinds.Count | Should -BeGreaterOrEqual 10
        @($kinds | Where-Object { $repairs -notmatch "(?m)^\s+$_\b" }) | Should -BeNullOrEmpty -Because 'each kind has its line'
    }
}

Describe 'Durations in JSON' {
    It 'every TimeSpan of an output or evidence type is hidden from JSON and has a number beside it' {
        $spans = @([MptcpTools.Diagnosis.MptcpFinding].Assembly.GetExportedTypes() |
            Where-Object { -not [System.Management.Automation.Cmdlet].IsAssignableFrom($_) } |
            ForEach-Object { $t = $_; $t.GetProperties([Reflection.BindingFlags]'Public,Instance') |
                Where-Object { $_.DeclaringType -eq $t -and (([Nullable]::GetUnderlyingType($_.PropertyType) ?? $_.PropertyType) -eq [TimeSpan]) } })
        $spans.Count | Should -BeGreaterOrEqual 10
        $wrong = foreach ($p in $spans) {
            $name = "$($p.DeclaringType.Name).$($p.Name)"
            if ($p.GetCustomAttributes([System.Management.Automation.HiddenAttribute], $true).Count -ne 1) { "$name is not hidden" }
            if ($p.GetCustomAttributes([Newtonsoft.Json.JsonIgnoreAttribute], $true).Count -ne 1) { "$name is not ignored by JSON" }
            if (-not ($p.DeclaringType.GetProperties() | Where-Object { $_.Name -like "$($p.Name)*" -and $_.Name -match '(Milliseconds|Seconds)$' })) { "$name has no number beside it" }
        }
        @($wrong) | Should -BeNullOrEmpty
    }

    It 'the blackhole evidence goes to JSON with its timeout in seconds' {
        $state = [MptcpTools.Diagnosis.BlackholeState]::new(2, 5, 1, [TimeSpan]::FromHours(1), $true, [DateTime]::UtcNow)
        $json = $state | ConvertTo-Json | ConvertFrom-Json -AsHashtable
        $json.TimeoutSeconds | Should -Be 3600
        $json.ContainsKey('Timeout') | Should -BeFalse
    }
}

Describe 'Validation at binding' {
    BeforeAll {
        # The attributes as the cmdlets carry them, bound by PowerShell itself.
        function Use-Positive { param([MptcpTools.Commands.SecondsTransformation()] [MptcpTools.Commands.ValidateDuration()] [timespan] $Value) 'ok' }
        function Use-ZeroOrMore { param([MptcpTools.Commands.SecondsTransformation()] [MptcpTools.Commands.ValidateDuration(AllowZero = $true)] [timespan] $Value) 'ok' }
        function Use-Interface { param([MptcpTools.Commands.ValidateInterface()] [string[]] $Value) 'ok' }
        function Use-Capture { param([MptcpTools.Commands.ValidateInterface(AllowAny = $true)] [string[]] $Value) 'ok' }
        function Invoke-Binding([scriptblock] $Call) {
            try { & $Call } catch { "$($_.FullyQualifiedErrorId): $($_.Exception.Message)" }
        }
        function Test-Duration([object] $Value, [switch] $AllowZero) {
            if ($AllowZero) { Invoke-Binding { Use-ZeroOrMore $Value } } else { Invoke-Binding { Use-Positive $Value } }
        }
    }

    It 'refuses a negative duration, and zero unless zero means none' {
        Test-Duration 5 | Should -Be 'ok'
        Test-Duration '00:00:02' | Should -Be 'ok'
        Test-Duration -1 | Should -Match '-1 seconds is not a duration'
        Test-Duration 0 | Should -Match 'above 0'
        Test-Duration 0 -AllowZero | Should -Be 'ok'
        Test-Duration -0.5 -AllowZero | Should -Match '0 or more'
        Test-Duration 9999999 | Should -Match 'longer than the module can wait'
    }

    It 'refuses an interface the namespace lacks, naming those it has; "any" only where a capture allows it' {
        Invoke-Binding { Use-Interface lo } | Should -Be 'ok'
        $refused = Invoke-Binding { Use-Interface lo, nosuch0 }
        $refused | Should -Match '^ParameterArgumentValidationError,Use-Interface: '
        $refused | Should -Match "There is no interface 'nosuch0' in this network namespace \(it has .*\blo\b"
        Invoke-Binding { Use-Interface any } | Should -Match 'ParameterArgumentValidationError'
        Invoke-Binding { Use-Capture any } | Should -Be 'ok'
        Invoke-Binding { Use-Interface abcdefghijklmnopq } | Should -Match 'ParameterArgumentValidationError'   # longer than IFNAMSIZ
    }

    It 'binds -ComputerName only with -Port, and -Id of an endpoint from 1' {
        $diagnosis = Get-Command Invoke-MptcpDiagnosis
        $peer = $diagnosis.ParameterSets | Where-Object { $_.Parameters.Name -contains 'ComputerName' }
        ($peer.Parameters | Where-Object Name -eq 'Port').IsMandatory | Should -BeTrue
        ($peer.Parameters | Where-Object Name -eq 'ComputerName').IsMandatory | Should -BeTrue
        $range = (Get-Command Add-MptcpEndpoint).Parameters['Id'].Attributes | Where-Object { $_ -is [ValidateRange] }
        $range.MinRange | Should -Be 1
        $range.MaxRange | Should -Be 255
    }
}

Describe 'A failed name lookup' {
    It 'says which name and why, in words, with the resolver''s own text' {
        $again = [System.Net.Sockets.SocketException]::new([int][System.Net.Sockets.SocketError]::TryAgain)
        [MptcpTools.Host.NameResolution]::Explain($again) | Should -Match '^no answer from a DNS server.*\(.+\)$'
        $none = [System.Net.Sockets.SocketException]::new([int][System.Net.Sockets.SocketError]::HostNotFound)
        [MptcpTools.Host.NameResolution]::Explain($none) | Should -Match '^no such name'
        [MptcpTools.Host.NameResolutionException]::new('peer.example', 'no such name').Message | Should -Be "'peer.example' does not resolve: no such name"
    }

    It 'is an empty name, which never stands for this host (the resolver would answer with its own addresses)' {
        foreach ($name in '', ' ', "`t") {
            $thrown = $null
            try { [MptcpTools.Host.NameResolution]::Resolve($name, $null) } catch { $thrown = $_.Exception.InnerException }
            $thrown | Should -BeOfType ([MptcpTools.Host.NameResolutionException])
            $thrown.Message | Should -BeLike '*the name is empty'
        }
    }
}

Describe 'Completion of finding ids' {
    It 'completes -Id of Repair-MptcpConfiguration from the catalog' {
        $line = 'Repair-MptcpConfiguration -Id Firewall'
        $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $expected = @([MptcpTools.Diagnosis.DiagnosisRules]::Catalog | Where-Object { $_ -like 'Firewall*' } | Sort-Object)
        @($r.CompletionMatches.CompletionText) | Should -Be $expected
    }
}
