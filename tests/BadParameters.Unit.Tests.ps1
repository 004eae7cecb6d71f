# Bad parameter values (issue 16, items 10 and 11), each refused with PowerShell's binding error or a documented id,
# never a raw exception and never an empty answer that looks like a clean bill.
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
}

Describe 'Add-MptcpEndpoint takes only an address of one host, written in full' {
    It 'refuses <Address> at binding (<Why>)' -ForEach @(
        @{ Address = '0.0.0.0'; Why = 'unspecified' }
        @{ Address = '::'; Why = 'unspecified' }
        @{ Address = '255.255.255.255'; Why = 'broadcast' }
        @{ Address = '224.0.0.1'; Why = 'multicast' }
        @{ Address = 'ff02::1'; Why = 'multicast' }
        @{ Address = '1.2.3'; Why = '.NET reads it as 1.2.0.3' }
        @{ Address = '192.0.2.256'; Why = 'not a number of a byte' }
    ) {
        $thrown = try { Add-MptcpEndpoint -Address $Address -WhatIf -ErrorAction Stop; $null } catch { $_ }
        $thrown | Should -Not -BeNullOrEmpty
        $thrown.Exception | Should -BeOfType [System.Management.Automation.ParameterBindingException]
        $thrown.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentTransformationError,*'
    }

    It 'takes 192.0.2.1 and 2001:db8::1, as text or as IPAddress (-WhatIf: nothing changes)' {
        foreach ($a in '192.0.2.1', '2001:db8::1', [ipaddress]'198.51.100.7') {
            { Add-MptcpEndpoint -Address $a -WhatIf -ErrorAction Stop } | Should -Not -Throw
        }
    }
}

Describe 'Interfaces that are not there' {
    It 'Get-MptcpEndpoint -Interface nosuch0 says InterfaceNotFound instead of returning nothing' {
        $out = @(Get-MptcpEndpoint -Interface nosuch0 -ErrorVariable e -ErrorAction SilentlyContinue)
        $out.Count | Should -Be 0
        @($e).Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'InterfaceNotFound,*'
        $e[0].TargetObject | Should -Be 'nosuch0'
    }

    It 'Get-MptcpEndpoint -Interface with a wildcard that matches nothing is an empty answer, as Get-ChildItem gives' {
        @(Get-MptcpEndpoint -Interface 'nosuch*' -ErrorVariable e -ErrorAction SilentlyContinue).Count | Should -Be 0
        @($e).Count | Should -Be 0
    }

    It 'Watch-MptcpPackets -Interface $null is refused at binding, not a NullReferenceException' {
        $thrown = try { Watch-MptcpPackets -Interface $null -Duration 1 -ErrorAction Stop; $null } catch { $_ }
        $thrown.Exception | Should -BeOfType [System.Management.Automation.ParameterBindingException]
    }
}

Describe 'Watch-MptcpPackets -SaveAs -NoClobber' {
    It 'keeps a file that is there, with SaveFileExists before any capture, and the file unchanged' {
        $kept = Join-Path $TestDrive 'kept.pcapng'
        Set-Content -LiteralPath $kept -Value 'mine' -NoNewline
        $thrown = try { Watch-MptcpPackets -Interface lo -Duration 5 -SaveAs $kept -NoClobber -ErrorAction Stop; $null } catch { $_ }
        "$($thrown.FullyQualifiedErrorId)" | Should -BeLike 'SaveFileExists,*'
        $thrown.CategoryInfo.Category | Should -Be 'ResourceExists'
        $thrown.TargetObject | Should -Be $kept
        Get-Content -LiteralPath $kept -Raw | Should -Be 'mine'
    }

    It 'writes a file that is not there yet, and without it writes over one' {
        $new = Join-Path $TestDrive 'new.pcapng'
        Watch-MptcpPackets -Interface lo -Duration 0.2 -SaveAs $new -NoClobber 6>$null | Out-Null
        [IO.File]::ReadAllBytes($new)[0..3] | Should -Be 0x0A, 0x0D, 0x0D, 0x0A -Because 'a pcapng section header starts it'
        Set-Content -LiteralPath $new -Value 'old' -NoNewline
        Watch-MptcpPackets -Interface lo -Duration 0.2 -SaveAs $new 6>$null | Out-Null
        [IO.File]::ReadAllBytes($new)[0..3] | Should -Be 0x0A, 0x0D, 0x0D, 0x0A
    }
}

Describe 'Watch-MptcpPackets -SaveAs a FIFO (found by the parameter fuzzer: it waited for a reader past Ctrl+C)' {
    It 'is SaveFailed at once, and nothing waits' {
        $fifo = Join-Path $TestDrive 'save-fifo'
        & mkfifo $fifo
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$((Get-Module MptcpTools).Path)'; Watch-MptcpPackets -Interface lo -Duration 1 -SaveAs '$fifo'")
        $async = $ps.BeginInvoke()
        $ended = $async.AsyncWaitHandle.WaitOne(15000)
        $ended | Should -BeTrue -Because 'opening a FIFO to write must not wait for a reader'
        $thrown = try { $null = $ps.EndInvoke($async); $null } catch { $_.Exception.InnerException ?? $_.Exception }
        $record = if ($thrown -is [System.Management.Automation.IContainsErrorRecord]) { $thrown.ErrorRecord } else { @($ps.Streams.Error)[0] }
        "$($record.FullyQualifiedErrorId)" | Should -BeLike 'SaveFailed,*'
        "$($record.Exception.Message)" | Should -Match 'FIFO'
        $ps.Dispose()
    }
}
