; Inno Setup 6 script for Tidings (Windows x64).
; Built by packaging/build.py, which passes the values below (version from app/__init__.py):
;   iscc /DAppVersion=X.Y.Z /DSourceDir=packaging\out\dist\tidings /DOutputDir=packaging\out
;        /DIconFile=resources\icons\tidings.ico packaging\windows\tidings.iss
; Installs per user by default (no admin prompt); "Install for all users" asks for elevation.
; "x64" (not 6.3's "x64compatible") so that older Inno Setup 6 releases compile it too.
; Silent: tidings-<v>-windows-x64-setup.exe /VERYSILENT /CURRENTUSER [/DIR=...]

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z ...
#endif
#ifndef AppNumericVersion
  #define AppNumericVersion AppVersion
#endif
#ifndef SourceDir
  #define SourceDir "..\out\dist\tidings"
#endif
#ifndef OutputDir
  #define OutputDir "..\out"
#endif
#ifndef IconFile
  #define IconFile "..\..\resources\icons\tidings.ico"
#endif

[Setup]
AppId={{6F1D7C52-3B7E-4C1A-9E55-2D4B8A7F0C11}
AppName=Tidings
AppVersion={#AppVersion}
AppVerName=Tidings {#AppVersion}
AppPublisher=The Tidings developers
VersionInfoVersion={#AppNumericVersion}
DefaultDirName={autopf}\Tidings
DefaultGroupName=Tidings
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed=x64
ArchitecturesInstallIn64BitMode=x64
OutputDir={#OutputDir}
OutputBaseFilename=tidings-{#AppVersion}-windows-x64-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\Tidings.exe
UninstallDisplayName=Tidings {#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Tidings"; Filename: "{app}\Tidings.exe"; Comment: "Feed reader with a cited daily digest"
Name: "{group}\Uninstall Tidings"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Tidings"; Filename: "{app}\Tidings.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\Tidings.exe"; Description: "{cm:LaunchProgram,Tidings}"; Flags: nowait postinstall skipifsilent

; The library (feeds, articles, digests) in %LOCALAPPDATA%\Tidings is the person's data: the
; uninstaller leaves it, as a reinstall should find it again.
